»
ª
	org:vlaio(0ÅºŸÚû4Jí
è
	org:vlaio!Agentschap Innoveren & OndernemenVLAIO"
government*agency2flanders:BrusselB6.1.5BOD 1.1.1BOD 2.1.2Jecosystem_orchestrator
á
ini:vdab-beroepenfilms(0ÉºŸÚû4J—Œ
ini:vdab-beroepenfilms*VDAB-beroepenfilms: STEM-beroepen in beeldHShort job films showing STEM occupations and the transitions they serve."

org:vdab*

org:agoria*
org:essenscia2OD 1.1.12OD 2.1.2:digitalisation:industry_4_0Bgeneral_publicBchildren_youthB
jobseekersJ

2021-01-01
2030-12-31RrunningZflandersjOD 1.1.1