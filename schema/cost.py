"""A limit on the estimated cost of a GraphQL operation, checked before it runs.

Depth, alias and token limits leave room for documents that nest lists inside lists: a page of
100 guests, each with its booking's guests, each with their booking's guests, asks for millions
of objects. The estimate counts one per field and multiplies what a list field selects by the
number of items it may return.
"""

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)

from models.pagination import MAX_PAGE_SIZE

# Items assumed for a list field without `first` or `last`, such as the guests of a booking.
DEFAULT_LIST_SIZE = 10
# Items assumed for `first` or `last` given as a variable, which validation cannot read.
VARIABLE_PAGE_SIZE = MAX_PAGE_SIZE
# `nodes` and `edges` repeat the items their connection field already counted.
CONNECTION_ITEM_FIELDS = {"nodes", "edges"}


def _unwrap(output_type: GraphQLOutputType) -> tuple[GraphQLNamedType, bool]:
    """Return the named type under list and non-null wrappers, and whether a list was among them."""
    is_list = False
    while isinstance(output_type, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(output_type, GraphQLList)
        output_type = output_type.of_type
    return output_type, is_list


def _page_size(field: FieldNode) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value not in {"first", "last"}:
            continue
        if isinstance(argument.value, IntValueNode):
            return max(int(argument.value.value), 0)
        return VARIABLE_PAGE_SIZE
    return None


def cost_limit_rule(max_cost: int) -> type[ValidationRule]:
    """Build a validation rule that rejects operations estimated to cost more than `max_cost`."""

    class OperationCostRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
            root = self.context.schema.get_root_type(node.operation)
            if root is None:
                return
            cost = self._selection_cost(node.selection_set, root, visited=frozenset())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"The operation's estimated cost is {cost}, above the maximum of "
                        f"{max_cost}; ask for smaller pages or fewer nested lists.",
                        node,
                    )
                )

        def _selection_cost(
            self,
            selection_set: SelectionSetNode | None,
            parent: GraphQLNamedType,
            visited: frozenset[str],
        ) -> int:
            if selection_set is None or not isinstance(
                parent, GraphQLObjectType | GraphQLInterfaceType
            ):
                return 0
            total = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    total += self._field_cost(selection, parent, visited)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    fragment_type = (
                        self.context.schema.get_type(condition.name.value) if condition else parent
                    )
                    if fragment_type is not None:
                        total += self._selection_cost(
                            selection.selection_set, fragment_type, visited
                        )
                elif isinstance(selection, FragmentSpreadNode):
                    total += self._spread_cost(selection, visited)
            return total

        def _spread_cost(self, spread: FragmentSpreadNode, visited: frozenset[str]) -> int:
            name = spread.name.value
            fragment = self.context.get_fragment(name)
            # A cycle of fragments is reported by the standard rules; it adds nothing here.
            if fragment is None or name in visited:
                return 0
            fragment_type = self.context.schema.get_type(fragment.type_condition.name.value)
            if fragment_type is None:
                return 0
            return self._selection_cost(fragment.selection_set, fragment_type, visited | {name})

        def _field_cost(
            self,
            field: FieldNode,
            parent: GraphQLObjectType | GraphQLInterfaceType,
            visited: frozenset[str],
        ) -> int:
            definition = parent.fields.get(field.name.value)
            if definition is None:
                return 1
            named_type, is_list = _unwrap(definition.type)
            children = self._selection_cost(field.selection_set, named_type, visited)
            size = _page_size(field)
            if size is None:
                size = 1
                if is_list and field.name.value not in CONNECTION_ITEM_FIELDS:
                    size = DEFAULT_LIST_SIZE
            return 1 + size * children

    return OperationCostRule
