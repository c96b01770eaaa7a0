"""An execution context that completes plain scalar fields on a short path.

graphql-core handles every field the same general way: it builds a resolve info, looks for
arguments, calls the resolver, checks for awaitables and walks the return type. For a scalar or
enum field without arguments whose value is an attribute (a Strawberry field without resolver),
none of that changes the result, and it costs most of the time of a long nested page. This context
reads such fields directly and coerces their value as graphql-core would. Anything unusual takes
graphql-core's own path, which reports the error exactly as before: a null for a non-null field,
a value the scalar rejects, or field middleware.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter


@dataclass(frozen=True, slots=True)
class ScalarField:
    """How to read and coerce one plain scalar field."""

    read: Callable[[Any], Any]
    coerce: Callable[[Any], Any]
    is_non_null: bool


# The plans of each object type's fields, built on first use. None marks a field that takes the
# general path. The keys are weak, so a schema that is dropped takes its plans along.
_plans: "WeakKeyDictionary[GraphQLObjectType, dict[str, ScalarField | None]]" = WeakKeyDictionary()

# Returned by `_complete_scalar` when the general path has to run.
_GENERAL = object()


def _scalar_field(field: GraphQLField) -> ScalarField | None:
    """Return the short-path plan of a field, or None when it needs the general path."""
    resolve = field.resolve
    # Strawberry marks the resolver of a field without resolver function or extensions.
    if resolve is None or not getattr(resolve, "_is_default", False) or field.args:
        return None
    output_type: GraphQLOutputType = field.type
    is_non_null = isinstance(output_type, GraphQLNonNull)
    if isinstance(output_type, GraphQLNonNull):
        output_type = output_type.of_type
    if not is_leaf_type(output_type):
        return None
    return ScalarField(
        read=_reader(field, resolve),
        coerce=output_type.coerce_output_value,
        is_non_null=is_non_null,
    )


def _reader(field: GraphQLField, resolve: Callable[..., Any]) -> Callable[[Any], Any]:
    """Read the attribute directly when Strawberry's resolver would only call `getattr`."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if getattr(definition, "default_resolver", None) is getattr:
        return attrgetter(definition.python_name)  # type: ignore[union-attr]
    return lambda source: resolve(source, None)


def _type_plans(parent_type: GraphQLObjectType) -> dict[str, ScalarField | None]:
    fields = _plans.get(parent_type)
    if fields is None:
        fields = _plans[parent_type] = {}
    return fields


def _plan(
    fields: dict[str, ScalarField | None], parent_type: GraphQLObjectType, name: str
) -> ScalarField | None:
    if name not in fields:
        definition = parent_type.fields.get(name)
        fields[name] = _scalar_field(definition) if definition is not None else None
    return fields[name]


def _complete_scalar(plan: ScalarField, source: Any) -> Any:
    try:
        value = plan.read(source)
        if value is None:
            return _GENERAL if plan.is_non_null else None
        coerced = plan.coerce(value)
    except Exception:
        # The general path runs again and reports the error.
        return _GENERAL
    if coerced is None or coerced is Undefined:
        return _GENERAL
    return coerced


class ScalarShortPathExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # Field middleware wraps every resolver, so with any the general path runs throughout.
        self.has_short_path = manager is None or not manager.middlewares
        self.type_plans: dict[GraphQLObjectType, dict[str, ScalarField | None]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if not self.has_short_path:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        scalars, others = self._complete_scalars(parent_type, source_value, grouped_field_set)
        if not others:
            return scalars
        results = super().execute_fields(parent_type, source_value, path, others, position_context)
        if not scalars:
            return results
        if isinstance(results, dict):
            return _merged(grouped_field_set, scalars, results)
        return self._merge_later(grouped_field_set, scalars, results)

    def _complete_scalars(
        self, parent_type: GraphQLObjectType, source: Any, grouped_field_set: GroupedFieldSet
    ) -> tuple[dict[str, Any], GroupedFieldSet]:
        """Complete the fields that take the short path, and return them and the other fields."""
        fields = self.type_plans.get(parent_type)
        if fields is None:
            fields = self.type_plans[parent_type] = _type_plans(parent_type)
        scalars: dict[str, Any] = {}
        others: GroupedFieldSet = {}
        for response_name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            plan = None if node.arguments else _plan(fields, parent_type, node.name.value)
            completed = _GENERAL if plan is None else _complete_scalar(plan, source)
            if completed is _GENERAL:
                others[response_name] = field_details_list
            else:
                scalars[response_name] = completed
        return scalars, others

    async def _merge_later(
        self,
        grouped_field_set: GroupedFieldSet,
        scalars: dict[str, Any],
        results: Awaitable[dict[str, Any]],
    ) -> dict[str, Any]:
        return _merged(grouped_field_set, scalars, await results)


def _merged(
    grouped_field_set: GroupedFieldSet, scalars: dict[str, Any], results: dict[str, Any]
) -> dict[str, Any]:
    """Put the fields back in the order of the selection set, as the response must list them."""
    merged: dict[str, Any] = {}
    for response_name in grouped_field_set:
        if response_name in scalars:
            merged[response_name] = scalars[response_name]
        elif response_name in results:
            merged[response_name] = results[response_name]
    return merged
