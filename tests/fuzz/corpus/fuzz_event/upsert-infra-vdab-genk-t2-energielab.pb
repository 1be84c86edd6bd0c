
infra:vdab-genk-t2-energielab(0†¼Ùòž4JØÕ
infra:vdab-genk-t2-energielab

org:vdabgovernment_entity"OD 3.2.1*T2-campus Genk â€“ Energy Lab2bHeat pumps, ventilation and PV installations in a walk-in demo house for HVAC and energy training.:GenklimburgBJ?

2026-09-01
2027-06-30montuewedthufri"08:30*16:30J5

2027-07-01
2027-08-27montuewed"08:30*16:30R[
pupils
teachers_trainers

jobseekerssecondary_tsosecondary_bso_dbsoadult_educationZñUnder the VDAB tiendagenregeling: at most 10 days per school per school year; free of charge for schools; booking via the provincial VDAB office at least 4 weeks ahead; VDAB instructor present. Summer weeks are reserved for teacher training.jenergyjclimate_sustainabilityrOD 3.2.1