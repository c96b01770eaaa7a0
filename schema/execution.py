"""An execution context that runs the common fields of a long nested page on a short path.

graphql-core handles every field the same general way: it builds a resolve info, looks for
arguments, calls the resolver through Strawberry's wrappers (info object, argument conversion,
field extensions), checks for awaitables and walks the return type through several layers of
completion. On a page of 100 bookings with their buyer, guests and departure that is some
thousand fields and objects, and it costs most of the time of the request.

This context takes a shorter path for the fields whose result it can tell without that machinery:

- a scalar or enum field without arguments whose value is an attribute (a Strawberry field without
  resolver) is read and coerced in place;
- a field without arguments whose value is an attribute or comes from a plain synchronous
  Strawberry resolver (no field extensions, no permission classes, no exception handlers) calls
  the resolver function directly, with the same `self`, `root` and `info` it would get;
- objects and lists of objects returned that way are completed here, field by field.

Everything else, and anything unusual on the way, takes graphql-core's own path: fields with
arguments, async resolvers and awaitable results, abstract types, `@defer` and `@stream`, field
middleware. Errors are located and propagated exactly as graphql-core does: a null for a non-null
field, a value the scalar rejects, an exception raised by a resolver.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import EnumMeta
from inspect import Parameter
from operator import attrgetter
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    FieldNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import invalid_return_type_error, to_nodes
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

ResolveInfo = GraphQLResolveInfo[Any]


@dataclass(frozen=True, slots=True)
class ScalarField:
    """How to read and coerce one plain scalar field."""

    read: Callable[[Any], Any]
    coerce: Callable[[Any], Any]
    is_non_null: bool
    # Values of exactly this class are their own output value; None when there is none.
    unchanged: type | None
    # The output value of each member of the enum class a field returns, computed once.
    enum_class: type | None
    enum_names: dict[Any, str]


@dataclass(frozen=True, slots=True)
class ValueField:
    """How to get the value of a field whose result is completed on the short path.

    `resolve` takes the source and graphql-core's resolve info.
    """

    field: GraphQLField
    resolve: Callable[[Any, ResolveInfo], Any]


FieldPlan = ScalarField | ValueField

# The plans of each object type's fields, built on first use. None marks a field that takes the
# general path. The keys are weak, so a schema that is dropped takes its plans along.
_plans: "WeakKeyDictionary[GraphQLObjectType, dict[str, FieldPlan | None]]" = WeakKeyDictionary()

# graphql-core's own String, ID and Boolean, which Strawberry uses, output a str or a bool as it is.
_UNCHANGED: dict[GraphQLNamedType, type] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
}

# Marks a scalar that the general path has to complete: reading or coercing it failed.
_GENERAL = object()


def _strawberry_field(field: GraphQLField) -> StrawberryField | None:
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    return definition if isinstance(definition, StrawberryField) else None


def _field_plan(field: GraphQLField, schema: Any) -> FieldPlan | None:
    """Return the short-path plan of a field, or None when it needs the general path."""
    if field.args or field.resolve is None:
        return None
    definition = _strawberry_field(field)
    if getattr(field.resolve, "_is_default", False):
        # Strawberry marks the resolver of a field without resolver function or extensions.
        read = _reader(field.resolve, definition)
        output_type = _unwrapped(field.type)
        if is_leaf_type(output_type):
            enum_class, enum_names = _enum_names(output_type)
            return ScalarField(
                read=read,
                coerce=output_type.coerce_output_value,
                is_non_null=isinstance(field.type, GraphQLNonNull),
                unchanged=_UNCHANGED.get(output_type),
                enum_class=enum_class,
                enum_names=enum_names,
            )
        return ValueField(field=field, resolve=lambda source, _info: read(source))
    if definition is None or is_leaf_type(_unwrapped(field.type)):
        return None
    resolve = _direct_resolver(definition, schema)
    return None if resolve is None else ValueField(field=field, resolve=resolve)


def _enum_names(output_type: GraphQLOutputType) -> tuple[type | None, dict[Any, str]]:
    """Map each member of a Strawberry enum to its name, as the enum type coerces it."""
    enum_class = getattr(output_type, "wrapped_cls", None)
    if not isinstance(output_type, GraphQLEnumType) or not isinstance(enum_class, EnumMeta):
        return None, {}
    members: list[Any] = list(enum_class)
    try:
        return enum_class, {member: output_type.coerce_output_value(member) for member in members}
    except Exception:
        # A member the GraphQL enum lacks: the general path reports it when it is returned.
        return None, {}


def _unwrapped(output_type: GraphQLOutputType) -> GraphQLOutputType:
    return output_type.of_type if isinstance(output_type, GraphQLNonNull) else output_type


def _reader(resolve: Callable[..., Any], definition: Any) -> Callable[[Any], Any]:
    """Read the attribute directly when Strawberry's resolver would only call `getattr`."""
    if getattr(definition, "default_resolver", None) is getattr:
        return attrgetter(definition.python_name)
    return lambda source: resolve(source, None)


def _direct_resolver(
    definition: StrawberryField, schema: Any
) -> Callable[[Any, ResolveInfo], Any] | None:
    """Call a plain synchronous resolver function as Strawberry's wrappers would call it.

    Returns None for a resolver that needs more than its source and info: arguments, field
    extensions (permission classes are one), an async function or exception handlers.
    """
    resolver = definition.base_resolver
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if resolver is None or strawberry_schema is None:
        return None
    if definition.extensions or definition.arguments or resolver.is_async:
        return None
    converter = strawberry_schema.schema_converter
    if converter._get_field_exception_handlers(definition):
        return None

    function = resolver.wrapped_func
    if not callable(function):
        # Strawberry reports an uncallable resolver on its own path.
        return None
    takes_self = resolver.self_parameter is not None
    source_names = [
        parameter.name
        for parameter in (resolver.parent_parameter, resolver.root_parameter)
        if parameter is not None
    ]
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    info_class = strawberry_schema.config.info_class

    def resolve(source: Any, info: ResolveInfo) -> Any:
        arguments = [source] if takes_self else []
        keywords = dict.fromkeys(source_names, source)
        if info_name is not None:
            keywords[info_name] = info_class(_raw_info=info, _field=definition)
        return function(*arguments, **keywords)

    shape = _positional_shape(resolver)
    if shape == (_SOURCE,):
        return lambda source, _info: function(source)
    if shape == (_SOURCE, _INFO):
        return lambda source, info: function(source, info_class(_raw_info=info, _field=definition))
    return resolve


# The parameters a resolver receives from Strawberry: its source (`self`, `root` or the parent)
# and the info.
_SOURCE = "source"
_INFO = "info"


def _positional_shape(resolver: Any) -> tuple[str, ...] | None:
    """Return what each parameter of the resolver receives, in order, or None if one cannot be
    passed by position.

    Most resolvers take `self`, or `self` and `info`. Passing those by position skips building a
    list and a dict of arguments, on a field that runs once for each row of a page.
    """
    roles = {
        id(resolver.self_parameter): _SOURCE,
        id(resolver.root_parameter): _SOURCE,
        id(resolver.parent_parameter): _SOURCE,
        id(resolver.info_parameter): _INFO,
    }
    roles.pop(id(None), None)
    shape = []
    for parameter in resolver.signature.parameters.values():
        role = roles.get(id(parameter))
        if role is None or parameter.kind not in _POSITIONAL:
            return None
        shape.append(role)
    return tuple(shape)


_POSITIONAL = (Parameter.POSITIONAL_ONLY, Parameter.POSITIONAL_OR_KEYWORD)


def _coerce_scalar(plan: ScalarField, value: Any) -> Any:
    """Complete a scalar value read from its source that is not its own output value."""
    if value is _GENERAL:
        return _GENERAL
    try:
        if value.__class__ is plan.enum_class:
            return plan.enum_names[value]
        if value is None:
            return _GENERAL if plan.is_non_null else None
        coerced = plan.coerce(value)
    except Exception:
        # The general path runs again and reports the error.
        return _GENERAL
    if coerced is None or coerced is Undefined:
        return _GENERAL
    return coerced


@dataclass(frozen=True, slots=True)
class SelectedField:
    """One entry of a selection set, with its plan, prepared once per execution."""

    response_name: str
    field_details_list: FieldDetailsList
    field_nodes: list[FieldNode]
    plan: FieldPlan | None


# Classes whose instances are never awaitable, so the check is skipped for them.
_plain_classes = frozenset({dict, list, tuple, type(None), bool, str, int, float})

# Strawberry types that resolvers returned and `_never_awaitable` accepted. A page checks hundreds
# of their instances, and each needs only a look at its own attributes.
_row_classes: set[type] = set()

_DEFAULT_ATTRIBUTE_LOOKUP: Any = object.__getattribute__


def _never_awaitable(value_class: type) -> bool:
    """Return whether only an `__await__` set on an instance can make a Strawberry type awaitable.

    graphql-core looks for an `__await__` attribute on the value. A class that has none and no
    attribute lookup of its own leaves only the instance's own attributes to look in.
    """
    return (
        hasattr(value_class, "__strawberry_definition__")
        and not hasattr(value_class, "__await__")
        and not hasattr(value_class, "__getattr__")
        and value_class.__getattribute__ is _DEFAULT_ATTRIBUTE_LOOKUP
    )


class ShortPathExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, taking the short path of this module where it applies."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # Field middleware wraps every resolver, so with any the general path runs throughout.
        self.has_short_path = manager is None or not manager.middlewares
        # graphql-core memoizes the selection set of each field for the whole execution, so the
        # 100 rows of a page share one. Its prepared fields are kept by its type and identity.
        self.selections: dict[
            tuple[GraphQLObjectType, int], tuple[GroupedFieldSet, list[SelectedField]]
        ] = {}
        # The prepared subfields of each object field without `@defer`, by the object type and
        # the identity of the field's nodes, which the rows of a page share: graphql-core's own
        # memo of them takes several lookups per row.
        self.subfields: dict[
            tuple[GraphQLObjectType, int], tuple[FieldDetailsList, list[SelectedField]]
        ] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        """Execute the fields of one object, as graphql-core's `execute_fields` does."""
        if not self.has_short_path:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        selected_fields = self._selected_fields(parent_type, grouped_field_set)
        return self._execute_selected(
            parent_type, source_value, path, selected_fields, position_context
        )

    def _execute_selected(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        selected_fields: list[SelectedField],
        position_context: Any,
    ) -> Any:
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        try:
            for selected in selected_fields:
                plan = selected.plan
                if plan.__class__ is ScalarField:
                    # A page has thousands of scalars, most of them text output as it is, so
                    # that case takes no further call.
                    try:
                        value = plan.read(source_value)
                    except Exception:
                        # The general path runs again and reports the error.
                        value = _GENERAL
                    value_class = value.__class__
                    if value_class is plan.unchanged:
                        results[selected.response_name] = value
                        continue
                    if value_class is plan.enum_class and value in plan.enum_names:
                        # A combination of `Flag` members has no name: the general path reports it.
                        results[selected.response_name] = plan.enum_names[value]
                        continue
                    if value is None and not plan.is_non_null:
                        results[selected.response_name] = None
                        continue
                    completed = _coerce_scalar(plan, value)
                    if completed is not _GENERAL:
                        results[selected.response_name] = completed
                        continue
                field_path = Path(path, selected.response_name, parent_type.name)
                if plan.__class__ is ValueField and position_context is None:
                    result = self._execute_value_field(
                        plan, parent_type, source_value, selected, field_path
                    )
                else:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        selected.field_details_list,
                        field_path,
                        position_context,
                    )
                    if result is Undefined:
                        continue
                results[selected.response_name] = result
                if result.__class__ not in _plain_classes and self._awaitable(result):
                    awaitable_fields.append(selected.response_name)
        except Exception:
            if awaitable_fields:
                # Settle what other fields started, as graphql-core does, since they may fail too.
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _await_fields(results, awaitable_fields)

    def _awaitable(self, value: Any) -> bool:
        """Check a value as graphql-core does, with less work for instances of `_row_classes`."""
        value_class = value.__class__
        if value_class in _row_classes:
            attributes = getattr(value, "__dict__", None)
            if not attributes or "__await__" not in attributes:
                return False
            return self.is_awaitable(value)
        if self.is_awaitable(value):
            return True
        if _never_awaitable(value_class):
            _row_classes.add(value_class)
        return False

    def _selected_fields(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[SelectedField]:
        key = (parent_type, id(grouped_field_set))
        prepared = self.selections.get(key)
        # The set is kept with its preparation, so that its id cannot be reused meanwhile.
        if prepared is not None and prepared[0] is grouped_field_set:
            return prepared[1]
        plans = _plans.get(parent_type)
        if plans is None:
            plans = _plans[parent_type] = {}
        selected = [
            SelectedField(
                response_name=response_name,
                field_details_list=field_details_list,
                field_nodes=to_nodes(field_details_list),
                plan=self._plan(plans, parent_type, field_details_list[0].node),
            )
            for response_name, field_details_list in grouped_field_set.items()
        ]
        self.selections[key] = (grouped_field_set, selected)
        return selected

    def _plan(
        self, plans: dict[str, FieldPlan | None], parent_type: GraphQLObjectType, node: FieldNode
    ) -> FieldPlan | None:
        if node.arguments:
            return None
        name = node.name.value
        if name not in plans:
            field = parent_type.fields.get(name)
            plans[name] = _field_plan(field, self.schema) if field is not None else None
        return plans[name]

    def _execute_value_field(
        self,
        plan: ValueField,
        parent_type: GraphQLObjectType,
        source: Any,
        selected: SelectedField,
        path: Path,
    ) -> Any:
        """Resolve and complete a field as graphql-core's `execute_field` does, more directly."""
        field = plan.field
        return_type = field.type
        field_details_list = selected.field_details_list
        info = self.build_resolve_info(field, selected.field_nodes, parent_type, path)
        try:
            result = plan.resolve(source, info)
            if result.__class__ not in _plain_classes and self._awaitable(result):
                return self.complete_awaitable_value(
                    return_type, field_details_list, info, path, result, None
                )
            completed = self._complete(return_type, field_details_list, info, path, result)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        if completed.__class__ not in _plain_classes and self._awaitable(completed):
            return self._await_completed(completed, return_type, field_details_list, path)
        return completed

    def _complete(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: ResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        """Complete a value as graphql-core's `complete_value` does, for objects and lists.

        A non-null type is unwrapped here rather than by a second call, since every row of a
        page goes through this once or more.
        """
        if isinstance(result, Exception):
            raise result
        nullable_type: GraphQLOutputType = return_type
        is_non_null = isinstance(return_type, GraphQLNonNull)
        if isinstance(return_type, GraphQLNonNull):
            nullable_type = return_type.of_type
        if result is None or result is Undefined:
            completed = None
        elif isinstance(nullable_type, GraphQLObjectType):
            completed = self._complete_object(nullable_type, field_details_list, info, path, result)
        elif (
            isinstance(nullable_type, GraphQLList)
            and isinstance(result, list | tuple)
            and self.get_stream_usage(field_details_list, path) is None
        ):
            completed = self._complete_list(
                nullable_type.of_type, field_details_list, info, path, result
            )
        else:
            completed = self.complete_value(
                nullable_type, field_details_list, info, path, result, None
            )
        if completed is None and is_non_null:
            raise TypeError(
                f"Cannot return null for non-nullable field {info.parent_type}.{info.field_name}."
            )
        return completed

    def _complete_object(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        info: ResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        is_type_of = return_type.is_type_of
        if is_type_of is not None:
            matches = is_type_of(result, info)
            if matches.__class__ not in _plain_classes and self._awaitable(matches):
                # Only graphql-core's path awaits the check before it completes the object.
                return self.complete_object_value(
                    return_type, field_details_list, info, path, result, None
                )
            if not matches:
                raise invalid_return_type_error(return_type, result, field_details_list)
        key = (return_type, id(field_details_list))
        subfields = self.subfields.get(key)
        # The list is kept with its subfields, so that its id cannot be reused meanwhile.
        if subfields is None or subfields[0] is not field_details_list:
            grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(
                return_type, field_details_list
            )
            if new_defer_usages:
                return self.collect_and_execute_subfields(
                    return_type, field_details_list, path, result, None
                )
            subfields = self.subfields[key] = (
                field_details_list,
                self._selected_fields(return_type, grouped_field_set),
            )
        return self._execute_selected(return_type, result, path, subfields[1], None)

    def _complete_list(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: ResolveInfo,
        path: Path,
        items: list[Any] | tuple[Any, ...],
    ) -> Any:
        """Complete each item as graphql-core's `complete_iterable_value` does."""
        completed: list[Any] = []
        awaitable_indices: list[int] = []
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                if item.__class__ not in _plain_classes and self._awaitable(item):
                    completed.append(
                        self.complete_awaitable_list_item_value(
                            item, item_type, field_details_list, info, item_path, None
                        )
                    )
                    awaitable_indices.append(index)
                    continue
                value = self._complete_item(item, item_type, field_details_list, info, item_path)
                completed.append(value)
                if value.__class__ not in _plain_classes and self._awaitable(value):
                    awaitable_indices.append(index)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed[index] for index in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed
        return _await_items(completed, awaitable_indices)

    def _complete_item(
        self,
        item: Any,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: ResolveInfo,
        item_path: Path,
    ) -> Any:
        try:
            value = self._complete(item_type, field_details_list, info, item_path, item)
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, item_path)
            return None
        if value.__class__ not in _plain_classes and self._awaitable(value):
            return self._await_completed(value, item_type, field_details_list, item_path)
        return value

    async def _await_completed(
        self,
        completed: Awaitable[Any],
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


async def _await_fields(results: dict[str, Any], awaitable_fields: list[str]) -> dict[str, Any]:
    if len(awaitable_fields) == 1:
        name = awaitable_fields[0]
        results[name] = await results[name]
        return results
    awaited = await gather_with_cancel(*(results[name] for name in awaitable_fields))
    results.update(zip(awaitable_fields, awaited, strict=True))
    return results


async def _await_items(completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
    if len(awaitable_indices) == 1:
        index = awaitable_indices[0]
        completed[index] = await completed[index]
        return completed
    awaited = await gather_with_cancel(*(completed[index] for index in awaitable_indices))
    for index, value in zip(awaitable_indices, awaited, strict=True):
        completed[index] = value
    return completed
