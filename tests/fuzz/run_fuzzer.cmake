#   run_fuzzer.cmake - one fuzz ctest: run a libFuzzer target for SECONDS
#   over a scratch copy of its seed corpus (the source tree is never
#   written), plus the kept regression inputs; fail if it finds a crash,
#   a leak, a timeout or a broken invariant.
#
#   cmake -DFUZZER=path -DCORPUS=dir -DREGRESSIONS=dir -DDICT=file
#         -DWORK=dir -DSECONDS=n -P run_fuzzer.cmake

foreach (var FUZZER CORPUS REGRESSIONS WORK SECONDS)
    if (NOT DEFINED ${var})
        message (FATAL_ERROR "run_fuzzer.cmake: -D${var}= is required")
    endif ()
endforeach ()

file (REMOVE_RECURSE ${WORK}/corpus)
file (MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file (GLOB seeds ${CORPUS}/*)
if (seeds)
    file (COPY ${seeds} DESTINATION ${WORK}/corpus)
endif ()
set (inputs ${WORK}/corpus)
if (IS_DIRECTORY ${REGRESSIONS})
    list (APPEND inputs ${REGRESSIONS})
endif ()
set (options -max_total_time=${SECONDS} -rss_limit_mb=1024 -timeout=10
     -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/)
if (DEFINED DICT AND EXISTS ${DICT})
    list (APPEND options -dict=${DICT})
endif ()

file (GLOB before ${WORK}/artifacts/*)
message (STATUS "${FUZZER} ${options} ${inputs}")
execute_process (COMMAND ${FUZZER} ${options} ${inputs}
    WORKING_DIRECTORY ${WORK}
    RESULT_VARIABLE status)
if (NOT status EQUAL 0)
    file (GLOB found ${WORK}/artifacts/*)
    if (before)
        list (REMOVE_ITEM found ${before})
    endif ()
    message (FATAL_ERROR "fuzzer failed (exit ${status}); input kept in: ${found}\n"
        "Fix it, then keep the input in tests/fuzz/regressions/<target>/ "
        "under a name that says what it caught.")
endif ()
