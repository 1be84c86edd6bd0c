
org:vdab(0‚¼Ùòž4JÀ
½
org:vdab:Vlaamse Dienst voor Arbeidsbemiddeling en BeroepsopleidingVDAB"
government*public_employment_service2flanders:BrusselBOD 1.1.1BOD 2.1.2BOD 2.3.4BOD 3.2.1BOD 4.1.3B7.2