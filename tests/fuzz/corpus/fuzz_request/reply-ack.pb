^

 *(
D
.ini:x: od_codes[1]: unknown OD code 'OD 9.9.9'