from sdk_core._extras import require_extra

require_extra("orchestration", "dagster", "dagster")
