-- Catalog queries DBeaver's PostgreSQL driver (plugins/org.jkiss.dbeaver.ext.postgresql: PostgreDataSource,
-- PostgreDatabase, PostgreSchema) sends on connect and when a schema is browsed in its navigator.
-- Each block: "-- query: <name>", then "-- params:" (values the test binds, from this server's catalog),
-- "-- compare:" (the columns compared with PostgreSQL; oids and physical statistics differ between servers),
-- then the statement. "-- columns: all" also checks the full list of result column names; "-- keep: <column> <value>"
-- compares only the rows with that value (the servers' other databases and users differ).

-- query: session context on connect
-- params:
-- compare: current_schema
-- columns: all
SELECT current_schema(),session_user;

-- query: database info
-- params: database
-- compare: datname encoding datistemplate datallowconn datcollate datctype
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname=%(database)s;

-- query: database list of the navigator
-- params: database
-- compare: datname datallowconn
-- keep: datname bi_replay
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE 1 = 1 AND datallowconn AND NOT datistemplate  OR db.datname =%(database)s;

-- query: setting lookup
-- params:
-- compare: name setting unit category vartype
-- columns: all
select * from pg_catalog.pg_settings where name='standard_conforming_strings';

-- query: schemas
-- params:
-- compare: nspname description
-- columns: all
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass
ORDER BY nspname;

-- query: tables of a schema
-- params: namespace
-- compare: relname relkind relnatts relhasindex relpersistence relispartition description partition_expr partition_key
-- columns: all
SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key 
FROM pg_catalog.pg_class c
LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 AND d.classoid='pg_class'::regclass
WHERE c.relnamespace=%(namespace)s AND c.relkind not in ('i','I','c');

-- query: columns of a table
-- params: table
-- compare: relname attname attnum attnotnull atthasdef attlen atttypmod attidentity attgenerated def_value description
-- columns: all
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=%(table)s
ORDER BY a.attnum;

-- query: columns of every table of a schema
-- params: namespace
-- compare: relname attname attnum attnotnull def_value description
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
WHERE NOT a.attisdropped AND c.relnamespace=%(namespace)s AND c.relkind not in ('i','c')  ORDER BY a.attnum;

-- query: constraints of a schema
-- params: namespace
-- compare: conname contype condeferrable condeferred convalidated conkey confkey confupdtype confdeltype confmatchtype tabrelname
-- columns: all
SELECT c.oid,c.*,t.relname as tabrelname,rt.relnamespace as refnamespace
FROM pg_catalog.pg_constraint c
INNER JOIN pg_catalog.pg_class t ON t.oid=c.conrelid
LEFT OUTER JOIN pg_catalog.pg_class rt ON rt.oid=c.confrelid
WHERE t.relnamespace=%(namespace)s
ORDER BY c.oid;

-- query: indexes of a schema
-- params: namespace
-- compare: relname tabrelname indnatts indnkeyatts indisunique indisprimary indisexclusion indimmediate indisvalid keys indoption expr description
-- columns: all
SELECT i.*,i.indkey as keys,c.relname,c.relnamespace,c.relam,tc.relname as tabrelname,dsc.description,pg_catalog.pg_get_expr(i.indexprs, i.indrelid, true) as expr
FROM pg_catalog.pg_index i
INNER JOIN pg_catalog.pg_class c ON c.oid=i.indexrelid
INNER JOIN pg_catalog.pg_class tc ON tc.oid=i.indrelid
LEFT OUTER JOIN pg_catalog.pg_description dsc ON i.indexrelid=dsc.objoid
WHERE  c.relnamespace=%(namespace)s ORDER BY c.relname;
