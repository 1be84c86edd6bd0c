
	org:vlaio(0¼Ùò4J’

	org:vlaio!Agentschap Innoveren & OndernemenVLAIO"
government*agency2flanders:BrusselB6.1.5BOD 1.1.1BOD 2.1.2Jecosystem_orchestrator