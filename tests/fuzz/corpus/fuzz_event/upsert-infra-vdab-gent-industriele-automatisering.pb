
*infra:vdab-gent-industriele-automatisering(0…¼Ùòž4Jòï
*infra:vdab-gent-industriele-automatisering

org:vdabgovernment_entity"OD 3.2.1*AVDAB competentiecentrum Gent â€“ labo industriÃ«le automatisering2YPLC and pneumatics training benches, a small packaging line and fault-finding simulators.:Gentoost-vlaanderenBJ?

2026-09-01
2027-06-30montuewedthufri"08:30*16:30R>
pupils
teachers_trainerssecondary_tsosecondary_bso_dbsoZÁUnder the VDAB tiendagenregeling: at most 10 days per school per school year; free of charge for schools; booking via the provincial VDAB office at least 4 weeks ahead; VDAB instructor present.jindustry_4_0rOD 3.2.1