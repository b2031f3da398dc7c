"""List, read, create and update routes for every record type, built from one table.

Every record type has the same four routes; ``COLLECTIONS`` says, per type, where it lives (its
schemas derive from the service's ``Resource``), and ``collection_router`` builds the routes over
the audited ``crud`` services. The list filters come from the service's ``Resource.filters``,
typed like the input field of the same name, so the OpenAPI document lists the choices.

Every route that answers one record gives its version as the ``ETag``; an update honours
``If-Match`` (``api/conditional.py``). Path ids are ASCII digits within the 32-bit id range,
``offset`` and ``q`` are bounded (``api/types.py``), so a bad value is a 422, never a failed query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from phasegate.api import schemas as s
from phasegate.api.conditional import (
    ETAG_HEADER,
    IfMatch,
    expected_version,
    stale_if_match,
    tag_response,
)
from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import CREATE_ERRORS, READ_ERRORS, UPDATE_ERRORS
from phasegate.api.types import (
    MAX_ID,
    MAX_OFFSET,
    MAX_SEARCH,
    StorableText,
    ascii_digits,
    text,
)
from phasegate.domain.errors import invalid
from phasegate.domain.policy import PERMISSION_KEY, Action, Principal, permission
from phasegate.services import builds, costing, crud, ingest, products, quality
from phasegate.services.crud import Resource
from phasegate.services.gates import records as gate_records
from phasegate.services.paging import MAX_PAGE, Page
from phasegate.services.products import resolve_product
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True)
class Collection:
    """One record type as the API shows it; its schemas derive from the service's ``Resource``."""

    resource: Resource[Any]
    path: str  # "/defect-codes"
    product_owned: bool = False  # lists take ?product=KEY
    # Finds a record by the text in its URL (products: id or key); None: by integer id.
    find: Callable[..., Any] | None = None  # (uow, text, *, actor)
    cursor: bool = False  # lists take ?after=CURSOR and link the next page by cursor

    @property
    def create(self) -> type[s.Input]:
        return s.record_schemas(self.resource).create

    @property
    def update(self) -> type[s.Input]:
        return s.record_schemas(self.resource).update

    @property
    def out(self) -> type[s.RecordOut]:
        return s.record_schemas(self.resource).out

    @property
    def plural(self) -> str:
        return self.path.strip("/").replace("-", " ")

    @property
    def singular(self) -> str:
        return self.resource.name

    @property
    def tag(self) -> str:
        return self.plural.capitalize()

    def operation_id(self, verb: str, *, many: bool = False) -> str:
        return f"{verb}_{(self.plural if many else self.singular).replace(' ', '_')}"

    def needs(self, action: Action) -> dict[str, Any]:
        """The ``openapi_extra`` of a route that takes ``action`` on this record type."""
        return {PERMISSION_KEY: permission(action, self.resource.kind)}


COLLECTIONS: tuple[Collection, ...] = (
    Collection(products.PRODUCTS, "/products", find=resolve_product),
    Collection(products.REVISIONS, "/revisions", product_owned=True),
    Collection(products.REQUIREMENTS, "/requirements", product_owned=True),
    Collection(products.CHARACTERISTICS, "/characteristics", product_owned=True),
    Collection(builds.PARTNERS, "/partners"),
    Collection(builds.LINES, "/lines"),
    Collection(builds.STATIONS, "/stations"),
    Collection(builds.BUILDS, "/builds", product_owned=True),
    Collection(builds.UNITS, "/units", product_owned=True, cursor=True),
    Collection(quality.FINDINGS, "/findings", product_owned=True),
    Collection(quality.FEEDBACK, "/feedback", product_owned=True),
    Collection(quality.DEFECT_CODES, "/defect-codes"),
    Collection(ingest.ALIASES, "/characteristic-aliases", product_owned=True),
    Collection(costing.PARTS, "/parts"),
    Collection(costing.PRICE_BREAKS, "/price-breaks"),
    Collection(costing.BOM_LINES, "/bom-lines", product_owned=True),
    Collection(costing.MATERIAL_ISSUES, "/material-issues"),
    Collection(costing.LINE_COST_RATES, "/line-cost-rates"),
    Collection(costing.STATION_LABOR_RATES, "/station-labor-rates"),
    Collection(costing.TOOLING, "/tooling-investments", product_owned=True),
    Collection(gate_records.GATE_PLANS, "/gate-plans", product_owned=True),
    Collection(gate_records.GTM_ITEMS, "/go-to-market-items", product_owned=True),
)


# A cursor holds a record's list keys (ids and a key or serial), base64-encoded JSON.
MAX_CURSOR = 400

# A product is named by its id or its key: never longer than its key may be.
REF_LENGTH = max(products.PRODUCTS.spec("key").max_length or 0, len(str(MAX_ID)))
ProductRef = Annotated[str, Field(max_length=REF_LENGTH), StorableText(not_blank=True)]


class ListQuery(BaseModel):
    """Paging; every list adds its own filters, and a text search where it has one."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Records per page.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Records to skip.")


class ProductListQuery(ListQuery):
    product: ProductRef | None = Field(
        None, description="Only records of this product (key or id)."
    )


_PAGING = {"limit", "offset", "q", "product", "after"}
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="The record's id."), ascii_digits]
RefPath = Annotated[ProductRef, Path(description="The record's id or key.")]


def query_model(collection: Collection) -> type[ListQuery]:
    """The query parameters of a list: paging, search and the resource's filters."""
    resource = collection.resource
    filters: dict[str, Any] = {}
    for name in resource.filters:
        annotation = s.input_type(resource.spec(name))
        filters[name] = (annotation | None, Field(None, description=f"Only this {name}."))
    if resource.search:
        searched = ", ".join(resource.search)
        filters["q"] = (
            text(MAX_SEARCH) | None,
            Field(None, description=f"Text found in {searched}, whatever its case."),
        )
    if collection.cursor:
        filters["after"] = (
            text(MAX_CURSOR) | None,
            Field(
                None,
                description="Start after the record this cursor names (the `next` link of "
                "the previous page gives it); read from an index, however deep, unlike "
                "`offset`.",
            ),
        )
    base = ProductListQuery if collection.product_owned else ListQuery
    model_name = collection.singular.title().replace(" ", "") + "Query"
    return cast(type[ListQuery], create_model(model_name, __base__=base, **filters))


def product_filter(uow: UnitOfWork, ref: str, product_id: int | None, *, actor: Principal) -> int:
    """The id of the product ``?product=`` names; it must agree with ``?product_id=``."""
    product = resolve_product(uow, ref, actor=actor)
    if product_id is not None and product_id != product.id:
        raise invalid("product", f"{ref!r} is product {product.id}, not product_id {product_id}")
    return product.id


def page_of(out: type[s.Output], page: Page[Any]) -> s.Page[Any]:
    items = [out.from_record(item) for item in page.items]
    return s.Page[Any](items=items, total=page.total, limit=page.limit, offset=page.offset)


E = TypeVar("E", bound=Callable[..., Any])


def with_schemas(endpoint: E, **annotations: Any) -> E:
    """Give FastAPI this collection's schema classes for parameters typed with their base."""
    endpoint.__annotations__.update(annotations)
    return endpoint


def collection_router(collection: Collection) -> APIRouter:
    """The list, get, create and update routes of one record type."""
    router = APIRouter(prefix=collection.path, tags=[collection.tag], route_class=GuardedRoute)
    _add_list(router, collection)
    _add_create(router, collection)
    _add_get_and_update(router, collection)
    return router


def _shown(out: type[s.RecordOut], record: Any, response: Response) -> Any:
    """The response body of one record; its version goes in the ``ETag`` header."""
    tag_response(response, record)
    return out.from_record(record)


def _add_list(router: APIRouter, collection: Collection) -> None:
    resource, Out = collection.resource, collection.out
    filters_named = ("product", *resource.filters) if collection.product_owned else resource.filters
    searched = f"; `q` searches {', '.join(resource.search)}" if resource.search else ""

    def list_records(
        query: Annotated[ListQuery, Query()],
        request: Request,
        response: Response,
        uow: Uow,
        actor: Acting,
    ) -> Any:
        filters = query.model_dump(exclude=_PAGING, exclude_none=True)
        ref = getattr(query, "product", None)
        if ref is not None:
            filters["product_id"] = product_filter(uow, ref, filters.get("product_id"), actor=actor)
        q = getattr(query, "q", None)
        page = crud.list_page(
            uow,
            resource,
            actor=actor,
            filters=filters,
            q=q,
            limit=query.limit,
            offset=query.offset,
            after=getattr(query, "after", None),
        )
        if collection.cursor:
            _link_next(request, response, resource, page)
        return page_of(Out, page)

    router.add_api_route(
        "",
        with_schemas(list_records, query=Annotated[query_model(collection), Query()]),
        methods=["GET"],
        response_model=s.Page[Out],  # type: ignore[valid-type]
        summary=f"List {collection.plural}",
        description=f"One page of {collection.plural}, filtered by any of: "
        f"{', '.join(filters_named)}{searched}.",
        operation_id=collection.operation_id("list", many=True),
        responses=READ_ERRORS,
        openapi_extra=collection.needs(Action.READ),
    )


def _link_next(
    request: Request, response: Response, resource: Resource[Any], page: Page[Any]
) -> None:
    """The next page's URL, by the cursor of this page's last record, in a ``Link`` header
    (RFC 8288, ``rel="next"``), when the page is full and records may follow."""
    if len(page.items) < page.limit:
        return
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("after", "offset")]
    params.append(("after", crud.cursor_of(resource, page.items[-1])))
    response.headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'


def _add_create(router: APIRouter, collection: Collection) -> None:
    resource, Out, one = collection.resource, collection.out, collection.singular

    def create_record(
        body: s.Input, request: Request, response: Response, uow: Uow, actor: Acting
    ) -> Any:
        record = crud.create(uow, resource, body.model_dump(exclude_unset=True), actor=actor)
        response.headers["Location"] = f"{request.url.path}/{record.id}"
        return _shown(Out, record, response)

    router.add_api_route(
        "",
        with_schemas(create_record, body=collection.create),
        methods=["POST"],
        status_code=201,
        response_model=Out,
        summary=f"Create a {one}",
        description=f"Validate and store a new {one}; the change is audited.",
        response_description=f"The new {one}; the `Location` header is its URL.",
        operation_id=collection.operation_id("create"),
        responses={201: {"headers": ETAG_HEADER}, **CREATE_ERRORS},
        openapi_extra=collection.needs(Action.CREATE),
    )


def _add_get_and_update(router: APIRouter, collection: Collection) -> None:
    resource, Out, one = collection.resource, collection.out, collection.singular
    find = collection.find

    def read(uow: UnitOfWork, key: Any, actor: Principal) -> Any:
        if find is not None:
            return find(uow, key, actor=actor)
        return crud.get(uow, resource, key, actor=actor)

    def change(
        uow: UnitOfWork, key: Any, body: s.Input, actor: Principal, if_match: str | None
    ) -> Any:
        ident, version = key, None
        if find is not None or if_match is not None:
            record = read(uow, key, actor)
            ident, version = record.id, expected_version(if_match, record)
        changes = body.model_dump(exclude_unset=True)
        with stale_if_match():
            return crud.update(uow, resource, ident, changes, actor=actor, expected_version=version)

    if find is not None:

        def get_by_ref(ref: RefPath, response: Response, uow: Uow, actor: Acting) -> Any:
            return _shown(Out, read(uow, ref, actor), response)

        def update_by_ref(
            ref: RefPath,
            body: s.Input,
            response: Response,
            uow: Uow,
            actor: Acting,
            if_match: IfMatch = None,
        ) -> Any:
            return _shown(Out, change(uow, ref, body, actor, if_match), response)

        get_one, update_one, path = get_by_ref, update_by_ref, "/{ref}"
        how = " by id or key"
    else:

        def get_by_id(id: IdPath, response: Response, uow: Uow, actor: Acting) -> Any:
            return _shown(Out, read(uow, id, actor), response)

        def update_by_id(
            id: IdPath,
            body: s.Input,
            response: Response,
            uow: Uow,
            actor: Acting,
            if_match: IfMatch = None,
        ) -> Any:
            return _shown(Out, change(uow, id, body, actor, if_match), response)

        get_one, update_one, path = get_by_id, update_by_id, "/{id}"  # type: ignore[assignment]
        how = ""

    router.add_api_route(
        path,
        get_one,
        methods=["GET"],
        response_model=Out,
        summary=f"Get a {one}{how}",
        operation_id=collection.operation_id("get"),
        responses={200: {"headers": ETAG_HEADER}, **READ_ERRORS},
        openapi_extra=collection.needs(Action.READ),
    )
    router.add_api_route(
        path,
        with_schemas(update_one, body=collection.update),
        methods=["PATCH"],
        response_model=Out,
        summary=f"Update a {one}{how}",
        description="Change only the fields given; the change is audited. With `If-Match`, "
        "only if the record is still at that version (412 otherwise).",
        operation_id=collection.operation_id("update"),
        responses={200: {"headers": ETAG_HEADER}, **UPDATE_ERRORS},
        openapi_extra=collection.needs(Action.UPDATE),
    )
