
ini:vlaio-ondernemersverhalen(0„¼Ùòž4JÞÛ
ini:vlaio-ondernemersverhalen5VLAIO-ondernemersverhalen: STEM-ondernemers vertellenQEntrepreneur stories that put STEM-based companies and founders in the spotlight."
	org:vlaio*

org:voka2OD 1.1.12OD 4.1.1:entrepreneurship:digitalisationBgeneral_publicBentrepreneursBstem_talentJ

2021-01-01
2030-12-31RrunningZflandersjOD 1.1.1