import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.Arrays;
import java.util.UUID;

import org.postgresql.PGStatement;

/** Drives pgjdbc as applications and BI tools do; prints one tab-separated line per fact for the Python test to check. */
public final class ClientCheck {
    private static void out(Object... fields) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < fields.length; i++) {
            if (i > 0) line.append('\t');
            line.append(fields[i]);
        }
        System.out.println(line);
    }

    /** Every column of a result set, in order, as text (null as NULL). */
    private static void rows(String tag, ResultSet rs, String... columns) throws SQLException {
        while (rs.next()) {
            Object[] fields = new Object[columns.length + 1];
            fields[0] = tag;
            for (int i = 0; i < columns.length; i++) {
                Object value = rs.getObject(columns[i]);
                fields[i + 1] = value == null ? "NULL" : value;
            }
            out(fields);
        }
        rs.close();
    }

    private static void prepared(Connection conn) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT id, name, qty, big, price, ratio, made, seen_at, at_utc, ok, data, tag FROM items WHERE id = ?")) {
            for (int run = 1; run <= 10; run++) {
                ps.setInt(1, run);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out("PREP", run, rs.getInt("id"), rs.getString("name"), rs.getShort("qty"), rs.getLong("big"),
                            rs.getBigDecimal("price"), rs.getDouble("ratio"), rs.getDate("made"), rs.getTimestamp("seen_at"),
                            rs.getTimestamp("at_utc").toInstant(), rs.getBoolean("ok"), Arrays.toString(rs.getBytes("data")),
                            rs.getObject("tag", UUID.class));
                    }
                }
                out("SERVER_PREPARED", run, ps.unwrap(PGStatement.class).isUseServerPrepare());
            }
        }
        // the driver's named statement, as the server lists it for this session
        try (Statement st = conn.createStatement()) {
            rows("NAMED", st.executeQuery("SELECT name ~ '^S_[0-9]+$' AS driver_named, statement, from_sql, parameter_types::text AS types"
                 + " FROM pg_prepared_statements WHERE statement LIKE 'SELECT id, name, qty%'"), "driver_named", "statement", "from_sql", "types");
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT count(*), sum(qty), max(price) FROM items WHERE big > ? AND name LIKE ?")) {
            for (int run = 1; run <= 7; run++) {
                ps.setLong(1, run * 1000L);
                ps.setString(2, "item%");
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    out("AGG", run, rs.getLong(1), rs.getLong(2), rs.getBigDecimal(3));
                }
            }
        }
        try (PreparedStatement ps = conn.prepareStatement("UPDATE items SET qty = qty + ? WHERE id <= ?")) {
            for (int run = 1; run <= 7; run++) {
                ps.setInt(1, 1);
                ps.setInt(2, run);
                out("UPDATED", run, ps.executeUpdate());
            }
        }
    }

    private static void batches(Connection conn) throws SQLException {
        long base = Timestamp.valueOf("2024-02-29 12:00:00").getTime();
        conn.setAutoCommit(false);
        try (PreparedStatement ps = conn.prepareStatement("INSERT INTO events (id, item_id, kind, happened) VALUES (?, ?, ?, ?)")) {
            for (int i = 1; i <= 200; i++) {
                ps.setLong(1, i);
                ps.setInt(2, (i % 10) + 1);
                if (i % 7 == 0) ps.setNull(3, java.sql.Types.VARCHAR); else ps.setString(3, "kind" + (i % 3));
                ps.setTimestamp(4, new Timestamp(base + i * 60_000L));
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            int sum = 0;
            for (int c : counts) sum += c;
            out("BATCH", counts.length, sum);
        }
        conn.commit();
        try (PreparedStatement ps = conn.prepareStatement("INSERT INTO events (id, item_id, kind, happened) VALUES (?, ?, ?, now())")) {
            ps.setLong(1, 1000);
            ps.setInt(2, 999);
            ps.setString(3, "orphan");
            ps.addBatch();
            try {
                ps.executeBatch();
                out("FK_BATCH", "accepted");
            } catch (SQLException e) {
                SQLException cause = e.getNextException() != null ? e.getNextException() : e;
                out("FK_BATCH", cause.getSQLState());
            }
        }
        conn.rollback();
        conn.setAutoCommit(true);
        try (Statement st = conn.createStatement()) {
            rows("EVENTS", st.executeQuery("SELECT count(*) AS n, count(kind) AS kinds, min(happened)::text AS first, max(id) AS last FROM events"),
                 "n", "kinds", "first", "last");
            st.addBatch("UPDATE events SET kind = 'late' WHERE id > 190");
            st.addBatch("DELETE FROM events WHERE id > 195");
            st.addBatch("INSERT INTO events (id, item_id, kind, happened) VALUES (500, 1, 'x', now())");
            out("STATEMENT_BATCH", Arrays.toString(st.executeBatch()));
        }
    }

    private static void metadata(Connection conn) throws SQLException {
        DatabaseMetaData md = conn.getMetaData();
        out("PRODUCT", md.getDatabaseProductName(), md.getDatabaseMajorVersion(), md.getIdentifierQuoteString());
        rows("SCHEMA", md.getSchemas(null, "public"), "TABLE_SCHEM");
        rows("TABLE", md.getTables(null, "public", "%", new String[] {"TABLE", "VIEW"}), "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS");
        rows("COLUMN", md.getColumns(null, "public", "%", "%"), "TABLE_NAME", "COLUMN_NAME", "ORDINAL_POSITION", "DATA_TYPE",
             "TYPE_NAME", "COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE", "IS_NULLABLE", "COLUMN_DEF", "IS_AUTOINCREMENT");
        for (String table : new String[] {"items", "events", "event_tags"}) {
            rows("PK", md.getPrimaryKeys(null, "public", table), "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME");
            rows("INDEX", md.getIndexInfo(null, "public", table, false, false), "TABLE_NAME", "NON_UNIQUE", "INDEX_NAME", "TYPE",
                 "ORDINAL_POSITION", "COLUMN_NAME", "ASC_OR_DESC");
            rows("IMPORTED", md.getImportedKeys(null, "public", table), "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_NAME",
                 "FKCOLUMN_NAME", "KEY_SEQ", "UPDATE_RULE", "DELETE_RULE", "FK_NAME", "PK_NAME", "DEFERRABILITY");
        }
        rows("EXPORTED", md.getExportedKeys(null, "public", "items"), "PKTABLE_NAME", "FKTABLE_NAME", "FKCOLUMN_NAME", "FK_NAME");
        try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM items WHERE false")) {
            ResultSetMetaData rsmd = rs.getMetaData();
            for (int i = 1; i <= rsmd.getColumnCount(); i++) {
                out("RSMD", rsmd.getColumnName(i), rsmd.getColumnTypeName(i), rsmd.getColumnType(i), rsmd.getPrecision(i), rsmd.getScale(i),
                    rsmd.isNullable(i), rsmd.isAutoIncrement(i), rsmd.getTableName(i));
            }
        }
    }

    public static void main(String[] args) throws Exception {
        String part = args[0];
        try (Connection conn = DriverManager.getConnection(args[1], args[2], args[3])) {
            if (part.equals("dml")) {
                prepared(conn);
                batches(conn);
            } else {
                metadata(conn);
            }
        }
    }
}
