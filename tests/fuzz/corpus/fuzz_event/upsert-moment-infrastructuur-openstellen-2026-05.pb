
)moment:infrastructuur-openstellen-2026-05(0ˆ¼Ùòž4Jþ"û
)moment:infrastructuur-openstellen-2026-05
	org:vlaio

org:imec

org:vdab"DNetwerkmoment infrastructuur openstellen voor opleidingsverstrekkers*network_moment2
2026-05-21B13:30J17:00R
imecLeuvenvlaams-brabantXPbOD 3.2.1bOD 3.2.2bOD 3.2.3bOD 3.2.4jindustry_4_0raProviders of government, research and private infrastructure meet schools and training providers.