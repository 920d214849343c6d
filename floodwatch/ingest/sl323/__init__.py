"""Import stations from the SL 323 real-time rain/water database (实时雨水情数据库).

`tables` reads the tables from PostgreSQL or from CSV exports; `convert` turns
their rows into station YAML and lists every row it could not take, by STCD.
"""
