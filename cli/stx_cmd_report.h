/*  =========================================================================
    stx_cmd_report - `stemx report`: the monitoring reports of section 7

    stemx report operational|strategic [--from DATE] [--to DATE]
                 [--format text|markdown|csv|html|json] [--out FILE]
                 [--taxonomy DIR]

    Opens the node's catalogue read-only, builds the report over the period
    in one read transaction (stx_report.h defines every number) and writes
    it to stdout or FILE.
    ========================================================================= */

#ifndef STX_CMD_REPORT_H_INCLUDED
#define STX_CMD_REPORT_H_INCLUDED

//  Run the report command. data_dir is the node's data folder (NULL if
//  none was given: a usage error); argv [0] is "report", the rest are its
//  arguments and options, parsed here with getopt_long (optind is reset).
//  Prints errors to stderr as "stemx: ...". Returns the exit status: 0
//  success, 1 failure (no catalogue, taxonomy unreadable, write error), 2
//  usage error.
int
    stx_cmd_report (const char *data_dir, int argc, char **argv);

//  The usage text of the command (for stemx's help).
const char *
    stx_cmd_report_usage (void);

#endif
