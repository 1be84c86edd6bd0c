
















	org:vlaio	org:vlaio (0К╝┘ЄЮ48ш├┘ЄЮ4@*JТ
П
	org:vlaio!Agentschap Innoveren & OndernemenVLAIO"
government*agency2flanders:BrusselB6.1.5BOD 1.1.1BOD 2.1.2Jecosystem_orchestratorPZvlaiob@ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZj ееееееееееееееееееееееееееееееееr	org:vlaio