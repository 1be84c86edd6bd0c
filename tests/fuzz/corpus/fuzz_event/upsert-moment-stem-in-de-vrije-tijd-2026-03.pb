
$moment:stem-in-de-vrije-tijd-2026-03(0‡¼Ùòž4Jê"ç
$moment:stem-in-de-vrije-tijd-2026-03
	org:vlaio
org:technopolis"INetwerkmoment STEM in de vrije tijd: quadruple helix in de STEM-academies*network_moment2
2026-03-19B13:30J17:00R"
TechnopolisMechelen	antwerpenXxbOD 1.2.1bOD 1.2.2jscience_communicationrYSTEM academies, municipalities and companies share how they co-create leisure activities.