"""Webhook delivery: what Autotask does when a watched record changes.

The five webhook configuration entities (`CompanyWebhooks`, `ContactWebhooks`,
`ConfigurationItemWebhooks`, `TicketWebhooks`, `TicketNoteWebhooks`) and their children
(`Fields`, `UdfFields`, `ExcludedResources`) are ordinary entities stored by the backend. This
module listens to the backend's committed changes and turns them into callouts, as reference
section 11 describes:

* a change of a watched entity fans out to every active, ready webhook of that entity that
  subscribes to the action; creates and deletes always fire, an update only when one of the
  webhook's subscribed fields (or UDFs) changed; changes made by an excluded resource never fire;
* the payload is `{Action, Guid, EntityType, Id, Fields, EventTime, SequenceNumber, PersonID}`
  and is signed `X-Hook-Signature: sha1=<base64 HMAC-SHA1(secretKey, body)>` over the .NET
  (HTML-safe) escaped serialization, which is also the body sent, unless `unescaped_body` is
  switched on to reproduce the mismatch integrators report;
* delivery runs on background threads, never in the API request, FIFO per (webhook, action)
  (no order across actions or webhooks, as documented); an attempt fails on a non-2xx answer,
  a connection error or `timeout` (10 s); it is retried every `retry_interval` (30 s) up to
  `max_attempts` (5) attempts, then the payload is dropped into `WebhookEventErrorLogs`;
  `deactivate_after` (25) consecutive dropped payloads of one webhook set its `isActive` to
  false, drop what it still had queued and POST a signed `{"Action": "Deactivated", ...}` to its
  `deactivationUrl` (that payload's shape is undocumented; this one is the sandbox's guess).
* deactivating a webhook's owner resource (`ownerResourceID`) deactivates the webhook the
  same way, deactivationUrl included;
* one event reaches one URL once per callout type: another firing webhook of the same entity
  with the same `webhookUrl` (scheme and host compared case-insensitively) is a duplicate and
  suppressed (listed as `kind: "suppressed"` in the deliveries route), as section 11.5 says;
* `WebhookEventErrorLogs` keeps 30 days: older rows are deleted when the dispatcher starts,
  before each new error row and hourly;
* the `fieldID` / `udfFieldID` picklists are registered at start and after every reset;
* `webhookGUID`, `ownerResourceID` and `isReady` (a subscribed field or UDF exists) are kept by
  this module, as Autotask keeps those read-only fields.

Admin routes: `GET /_sandbox/webhooks/deliveries[?webhook=TicketWebhooks/5]` lists recent
attempts (`ok`, `error`, `attempt`, `final`, ...) and `pending` (events and payloads not yet
delivered or dropped); `GET|PUT /_sandbox/webhooks/settings` shows or changes the settings above
(tests use short intervals). Secrets never appear there: URLs are shown without query strings.

Modules: `signing` (the .NET-escaped body and its HMAC), `matching` (which webhooks fire, the
payload, field ids), `delivery` (settings, per-callout FIFO queues with retries), `dispatcher`
(backend changes -> callouts, error logs, deactivation), `routes` (the admin routes).

Field ids. Autotask's `fieldID` is an internal number the API does not publish. The sandbox
numbers an entity's fields by their 1-based position in the bundled catalog's field list
(`Tickets`: 1 = `id`, 75 = `title`), see `field_ids()`. Real tenants use other numbers: clients
must read them from `/{X}WebhookFields/entityInformation/fields` (the `fieldID` picklist), never
hard-code them. `udfFieldID` is the id of the UDF definition.
"""

from . import routes  # noqa: F401  (registers the admin routes)
from .delivery import Delivery, WebhookSettings, encode
from .dispatcher import WebhookDispatcher, attach, dispatcher_for
from .matching import WATCHED_ENTITIES, Webhook, build_payload, field_ids
from .signing import dotnet_json, plain_json, sign

__all__ = [
    "WATCHED_ENTITIES",
    "Delivery",
    "Webhook",
    "WebhookDispatcher",
    "WebhookSettings",
    "attach",
    "build_payload",
    "dispatcher_for",
    "dotnet_json",
    "encode",
    "field_ids",
    "plain_json",
    "sign",
]
