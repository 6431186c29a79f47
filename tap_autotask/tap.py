"""tap-autotask: every queryable Autotask entity as a Singer stream, read through sdk_core."""

from __future__ import annotations

import atexit
from fnmatch import fnmatch
from typing import Any, ClassVar

import click
from singer_sdk import Stream
from singer_sdk import typing as th
from typing_extensions import override

from sdk_core import AutotaskClient
from sdk_core.catalog import load_catalog
from sdk_core.errors import AutotaskError, ConfigurationError

from . import discovery_cache
from ._sdk_compat import CompatTap, DeselectedStreamsSummary, selected_schema
from .discovery_cache import DiscoveryKey
from .metadata import CatalogMetadata, LiveMetadata, MetadataSource
from .request_metrics import StreamRequestStats
from .schema import with_annotations
from .settings import accept_numeric_text, check_start_date, coerce_numeric, hide_secrets, require_credentials
from .streams import PicklistValuesStream, UdfDefinitionsStream, entity_streams
from .windows import OVERLAP_CAP
from .writer import FastSingerWriter

__all__ = ["TapAutotask"]

CATALOG_ONLY_TTL = 24 * 3600.0  # offline schemas change only with the code, which is keyed


class TapAutotask(CompatTap):
    """Singer tap for Autotask PSA (REST API).

    Deleted tickets (from DeletedTicketLogs) arrive in the `tickets` stream as records that
    carry only `id`, `_sdc_deleted_at` (when it was deleted, UTC), `ticketNumber` and
    `title`. Every other column is absent, not null: targets should mark the row deleted
    and keep what it had. All properties are nullable and only `id` is required, so these
    records conform to the stream's schema. Deletions of other entities are found by the
    full re-reads of `reconcile_deletes_every`, which end with ACTIVATE_VERSION.
    """

    name = "tap-autotask"
    package_name = "autotask-liberator"  # the distribution, for --version and --about
    message_writer_class = FastSingerWriter

    config_jsonschema = accept_numeric_text(
        th.PropertiesList(
            th.Property(
                "username",
                th.StringType,
                required=True,
                secret=True,
                description="API user's username (an API-only resource's e-mail address).",
            ),
            th.Property(
                "secret",
                th.StringType,
                required=True,
                secret=True,
                description="API user's secret (password).",
            ),
            th.Property(
                "integration_code",
                th.StringType,
                required=True,
                secret=True,
                description="API tracking identifier (integration code) of the API user.",
            ),
            th.Property(
                "api_url",
                th.StringType,
                description="REST root of the tenant's zone, e.g. "
                "https://webservices5.autotask.net/ATServicesRest/. Leave empty to detect "
                "the zone from the username (ZoneInformation); set it for the sandbox.",
            ),
            th.Property(
                "zone_lookup_url",
                th.StringType,
                description="ZoneInformation URL used for zone detection; only needed to "
                "point detection at a non-default host.",
            ),
            th.Property(
                "start_date",
                th.DateTimeType,
                description="Earliest modification time to replicate (UTC) for incremental "
                "streams. Without it, the first run reads every row.",
            ),
            th.Property(
                "lookback_minutes",
                th.NumberType,
                default=5,
                description="Overlap, in minutes, re-read before each incremental bookmark "
                "to absorb clock skew between this machine and Autotask. Rows in the "
                "overlap that the previous run emitted with the same timestamp are "
                f"skipped (the state remembers up to {OVERLAP_CAP:,} of them), so a run "
                "emits only "
                "rows that changed; fractions such as 2.5 are allowed.",
            ),
            th.Property(
                "max_api_share",
                th.NumberType,
                default=0.5,
                description="Largest share (0-1) of the tenant's hourly request threshold "
                "this tap may use; the threshold is shared by every integration.",
            ),
            th.Property(
                "parallelism",
                th.IntegerType,
                default=3,
                description="Requests in flight per entity endpoint (Autotask allows 3 per "
                "integration code and endpoint).",
            ),
            th.Property(
                "impersonation_resource_id",
                th.IntegerType,
                description="Resource id to impersonate (ImpersonationResourceId header).",
            ),
            th.Property(
                "include_udfs",
                th.BooleanType,
                default=True,
                description="Add user-defined fields as `udf_<name>` columns (a hash suffix "
                "keeps names that are not plain ASCII words apart; `udf_definitions` "
                "shows the mapping).",
            ),
            th.Property(
                "redis_url",
                th.StringType,
                description="Redis URL to share the request budget and thread limit with "
                "other processes using the same Autotask tenant.",
            ),
            th.Property(
                "reconcile_deletes_every",
                th.NumberType,
                default=168,
                description="Hours between full re-reads of incremental streams, which end "
                "with ACTIVATE_VERSION so targets drop rows deleted in Autotask. A full "
                "read costs about one request per 500 rows. Fractions such as 0.5 are "
                "allowed; 0 turns it off.",
            ),
            th.Property(
                "metadata_source",
                th.StringType,
                default="live",
                allowed_values=["live", "catalog"],
                description="Where schemas come from: `live` reads entityInformation/fields "
                "and userDefinedFields (cached on disk by sdk_core, so only the first "
                "discovery costs requests); `catalog` uses the bundled catalog offline "
                "(no UDFs, no picklist annotations).",
            ),
            th.Property(
                "include_streams",
                th.ArrayType(th.StringType),
                description="Only offer these streams (names or glob patterns such as "
                "`ticket*`); default all. Unlike `select`, streams left out are not even "
                "discovered, so their metadata is never read.",
            ),
            th.Property(
                "picklist_entities",
                th.ArrayType(th.StringType),
                description="Entities (e.g. `Tickets` or `time_entries`) whose picklist "
                "values and UDF definitions `picklist_values` and `udf_definitions` emit; "
                "default: the entity streams selected in the same run.",
            ),
            th.Property(
                "skip_forbidden_streams",
                th.BooleanType,
                default=False,
                description="When the API user may not read an entity, skip its stream "
                "with a warning and exit 0. By default the other streams are still read, "
                "then the run fails listing the streams it could not read.",
            ),
            th.Property(
                "emit_activate_version_messages",
                th.BooleanType,
                default=True,
                description="Emit ACTIVATE_VERSION after each full scan so targets can "
                "drop rows that no longer exist.",
            ),
        ).to_dict()
    )

    _client: Any = None
    # Set by the `tap-autotask` command for a plain `--discover`: where to keep the catalog.
    pending_discovery: ClassVar[DiscoveryKey | None] = None

    @override
    def prepare_config(self, config: dict[str, Any]) -> None:
        """Numeric text (Meltano's `kind: string`, env vars) becomes numbers before checking; a
        start_date that is not a timestamp is refused here, in one line."""
        coerce_numeric(config)
        check_start_date(config)

    @override
    def safe_messages(self, errors: list[str]) -> list[str]:
        """Validation messages never quote a secret."""
        return hide_secrets(errors, self.config_jsonschema, self.raw_config)

    @property
    def client(self) -> Any:
        """The sdk_core client shared by every stream, so one rate governor covers them all."""
        if self._client is None:
            cfg = self.config
            require_credentials(cfg)  # discovery skips config validation
            self._client = AutotaskClient(
                username=cfg["username"],
                secret=cfg["secret"],
                integration_code=cfg["integration_code"],
                api_url=cfg.get("api_url") or None,
                impersonation_resource_id=cfg.get("impersonation_resource_id"),
                zone_lookup_url=cfg.get("zone_lookup_url") or None,
                max_api_share=float(cfg.get("max_api_share", 0.5)),
                max_concurrency=int(cfg.get("parallelism", 3)),
                redis_url=cfg.get("redis_url") or None,
            )
            self._client.request_stats = self.request_stats
            atexit.register(self._client.close)
        return self._client

    @property
    def request_stats(self) -> StreamRequestStats:
        """The client's request recorder, counting requests per stream for the METRIC lines."""
        if "_request_stats" not in self.__dict__:
            self._request_stats: StreamRequestStats = StreamRequestStats()
        return self._request_stats

    @property
    def unreadable(self) -> dict[str, str]:
        """Streams denied to the API user in this run, with the reason."""
        if "_unreadable" not in self.__dict__:
            self._unreadable: dict[str, str] = {}
        return self._unreadable

    @override  # type: ignore[misc]  # final in singer-sdk; extended here, not replaced
    def sync_all(self) -> None:
        """All selected streams; then fail if some could not be read (orchestrators must see it).

        singer-sdk logs one line per deselected stream (about 220 with Meltano's usual
        selection); they are counted into one summary line instead.
        """
        deselected = DeselectedStreamsSummary()
        self.logger.addFilter(deselected)
        try:
            super().sync_all()
        finally:
            self.logger.removeFilter(deselected)
            self.request_stats.flush()  # requests outside the streams' reading (`_tap`)
        if deselected.skipped:
            self.logger.info(
                "Synced %d selected stream(s); skipped %d deselected.",
                len(self.streams) - len(deselected.skipped),
                len(deselected.skipped),
            )
        if self.unreadable:
            raise UnreadableStreamsError(
                f"{len(self.unreadable)} stream(s) could not be read, the others were: "
                + "; ".join(f"{name}: {why}" for name, why in self.unreadable.items())
                + ". Give the API user's security level access to them, deselect them, or set "
                "skip_forbidden_streams to skip them with a warning."
            )

    def metadata_source(self) -> MetadataSource:
        if self.config.get("metadata_source", "live") == "catalog":
            return CatalogMetadata()
        return LiveMetadata(self.client)

    @override
    def discover_streams(self) -> list[Stream]:
        """Every queryable entity of the bundled catalog, plus the metadata streams."""
        catalog = load_catalog()
        metadata = self.metadata_source()
        streams: list[Stream] = entity_streams(self, catalog, metadata)
        streams.append(PicklistValuesStream(self, catalog, metadata))
        streams.append(UdfDefinitionsStream(self, catalog, metadata))
        patterns = self.config.get("include_streams")
        if patterns:
            streams = [s for s in streams if any(fnmatch(s.name, p) for p in patterns)]
            if not streams:
                raise ConfigurationError(
                    f"include_streams {patterns} matches no stream; names are snake_case, "
                    "e.g. tickets, ticket_notes, time_entries."
                )
        return streams

    @override
    def run_discovery(self) -> str:
        """Print the catalog, and keep it for the next warm discovery (`discovery_cache`)."""
        text = super().run_discovery()
        key = type(self).pending_discovery
        if key is not None:
            live = self.config.get("metadata_source", "live") == "live"
            ttl = float(self.client.settings.metadata_ttl) if live else CATALOG_ONLY_TTL
            discovery_cache.store(key, text, ttl)
        return text

    @override
    def setup_mapper(self) -> None:
        """Register selected streams with their annotated schemas, so SCHEMA messages keep them."""
        super().setup_mapper()
        for entry in self.catalog.streams:
            mask = entry.metadata.resolve_selection()
            stream = self.streams.get(entry.tap_stream_id)
            if stream is None or not mask.get((), True):
                continue
            self.mapper.register_raw_stream_schema(
                entry.stream or entry.tap_stream_id,
                selected_schema(
                    entry.tap_stream_id,
                    with_annotations(entry.schema.to_dict(), stream.schema),
                    mask,
                ),
                entry.key_properties,
            )

    @property
    @override
    def catalog_dict(self) -> dict:
        """The Singer catalog, with the `x-autotask-*` annotations singer-sdk's model drops."""
        catalog = super().catalog_dict
        for entry in catalog.get("streams", []):
            stream = self.streams.get(entry["tap_stream_id"])
            if stream is not None:
                entry["schema"] = with_annotations(entry["schema"], stream.schema)
        return catalog

    @classmethod
    @override
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the tap; an Autotask error ends it with one line that says what to do."""
        try:
            super().invoke(*args, **kwargs)
        except AutotaskError as exc:
            raise click.ClickException(_one_line(exc)) from None

    @classmethod
    @override
    def cb_config(cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]) -> Any:
        """`--config` files read as singer-sdk does; one that is missing or not JSON is a
        usage error naming the file (exit 2), not a traceback."""
        try:
            return super().cb_config(ctx, param, value)
        except (OSError, ValueError) as exc:
            files = ", ".join(v for v in value if v != "ENV")
            reason = " ".join(str(exc).split()).rstrip(".")
            raise click.BadParameter(
                f"{reason} (reading {files}); give JSON files of settings (or ENV)", ctx, param
            ) from None

    @classmethod
    @override
    def cb_discover(cls, ctx: click.Context, param: click.Option, value: bool) -> None:
        """Discovery, with the same one-line errors as a sync."""
        try:
            super().cb_discover(ctx, param, value)
        except AutotaskError as exc:
            raise click.ClickException(_one_line(exc)) from None


class UnreadableStreamsError(AutotaskError):
    """Streams the API user was denied; raised after every other stream was synced."""


def _one_line(exc: AutotaskError) -> str:
    return f"{type(exc).__name__}: " + " ".join(str(exc).split())
