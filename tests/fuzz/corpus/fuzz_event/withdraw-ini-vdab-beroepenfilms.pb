
																ini:vdab-beroepenfilms(0‰¼Ùò4