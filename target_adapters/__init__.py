from sdk_core._extras import require_extra

require_extra(
    "target_adapters", "targets", "singer_sdk", "sqlalchemy", "psycopg", "pymysql", "pyarrow", "openpyxl"
)
