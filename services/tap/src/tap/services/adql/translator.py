"""The checked ADQL tree rewritten in place into PostgreSQL + pg_sphere (DaCHS's semantics).

One pass per query: FROM items are resolved against the catalog, the uploads and the WITH
queries; every column reference is checked and qualified; every select item gets a unique
output name; ADQL functions PostgreSQL lacks are rewritten as they are met.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from . import geometry
from .geometry import POINT
from .model import AdqlError
from .scope import Field, Scope, Source, Tables, folded, quoted, reference
from .units import conversion_factor

#: PostgreSQL's LIMIT and OFFSET are bigint: a larger TOP means "every row".
_BIGINT_MAX = 2**63 - 1
_CAST_TYPES = {
    exp.DType.INT, exp.DType.SMALLINT, exp.DType.BIGINT, exp.DType.FLOAT, exp.DType.DOUBLE,
    exp.DType.CHAR, exp.DType.VARCHAR, exp.DType.TIMESTAMP,
}  # fmt: skip
_INTEGRAL_CASTS = {exp.DType.INT, exp.DType.SMALLINT, exp.DType.BIGINT}
_INTEGRAL_OPERATIONS = (exp.Add, exp.Sub, exp.Mul, exp.Neg, exp.Paren, exp.Abs)
#: Output names of unaliased calls, where sqlglot's class name is not ADQL's function name.
_ADQL_NAMES = {exp.Ceil: "ceiling", exp.Trunc: "truncate", exp.Pow: "power"}
_BITWISE = {
    "BITWISE_AND": exp.BitwiseAnd, "BITWISE_OR": exp.BitwiseOr, "BITWISE_XOR": exp.BitwiseXor,
}  # fmt: skip
_COMPARISONS = (exp.LT, exp.LTE, exp.GT, exp.GTE)


@dataclass(slots=True)
class _Meaning:
    """What the translation knows of a rewritten node beyond its SQL."""

    node: exp.Expr
    kind: str | None = None
    integral: bool = False
    field: Field | None = None
    #: For CONTAINS/INTERSECTS: the boolean the 0/1 value is made of.
    predicate: exp.Expr | None = None
    #: For DISTANCE: its two points.
    points: tuple[exp.Expr, exp.Expr] | None = None


_NOTHING = _Meaning(exp.Null())
_INTEGER = _Meaning(exp.Null(), integral=True)


class Translator:
    def __init__(self, tables: Tables) -> None:
        self._tables = tables
        # Keyed by id(); the _Meaning holds the node so the id stays its own.
        self._meanings: dict[int, _Meaning] = {}

    # -- queries ---------------------------------------------------------------------------

    def query(self, node: exp.Expr, outer: Scope | None, ctes: dict[str, list[Field]]):
        """Rewrite a query in place; its output columns."""
        ctes = self._with(node, outer, ctes)
        if isinstance(node, exp.Subquery):
            fields = self.query(node.this, outer, ctes)
        elif isinstance(node, exp.Select):
            fields = self._select(node, Scope(outer, ctes))
        elif isinstance(node, exp.SetOperation):
            fields = self.query(node.this, outer, ctes)
            if len(self.query(node.expression, outer, ctes)) != len(fields):
                kind = type(node).__name__.upper()
                raise AdqlError(f"the queries of a {kind} must select as many columns")
            self._order_by_output(node, fields)
        else:
            raise AdqlError("only SELECT queries are allowed")
        self._limits(node)
        return fields

    def _with(self, node: exp.Expr, outer: Scope | None, ctes: dict[str, list[Field]]):
        with_ = node.args.get("with_")
        if with_ is None:
            return ctes
        ctes = dict(ctes)
        for cte in with_.expressions:
            fields = self.query(cte.this, outer, ctes)
            name = folded(cte.args["alias"].this)
            ctes[name] = self._renamed(cte.args["alias"], fields)
        return ctes

    def _renamed(self, alias: exp.TableAlias, fields: list[Field]) -> list[Field]:
        """Fields under the names of ``AS t(a, b)``; normalises the alias in place."""
        alias.set("this", quoted(folded(alias.this)))
        names = alias.args.get("columns") or []
        if not names:
            return fields
        if len(names) != len(fields):
            raise AdqlError(f"'{alias.name}' names {len(names)} columns for {len(fields)}")
        alias.set("columns", [quoted(folded(name)) for name in names])
        return [
            Field(folded(name), folded(name), f.source, f.kind, f.integral)
            for name, f in zip(names, fields, strict=True)
        ]

    def _select(self, node: exp.Select, scope: Scope) -> list[Field]:
        from_ = node.args.get("from_")
        if from_ is None:
            raise AdqlError("an ADQL query needs a FROM clause")
        self._source(from_.this, scope)
        for join in node.args.get("joins") or []:
            self._join(join, scope)
        if (where := node.args.get("where")) is not None:
            where.set("this", self._condition(where.this, scope))
        fields = self._select_list(node, scope)
        names = {f.name for f in fields}
        if (group := node.args.get("group")) is not None:
            group.set(
                "expressions",
                [self._grouping(item, scope, names) for item in group.expressions],
            )
        if (having := node.args.get("having")) is not None:
            having.set("this", self._condition(having.this, scope))
        if (order := node.args.get("order")) is not None:
            for ordered in order.expressions:
                ordered.set("this", self._ordering(ordered.this, scope, fields))
        return fields

    def _limits(self, node: exp.Expr) -> None:
        for key in ("limit", "offset"):
            clause = node.args.get(key)
            if clause is None:
                continue
            value = clause.expression
            if not (isinstance(value, exp.Literal) and value.is_int):
                word = "TOP" if key == "limit" else "OFFSET"
                raise AdqlError(f"{word} needs a whole number")
            clause.set("expression", exp.Literal.number(min(int(value.this), _BIGINT_MAX)))

    # -- FROM ------------------------------------------------------------------------------

    def _source(self, node: exp.Expr, scope: Scope) -> Source:
        alias = node.args.get("alias")
        if isinstance(node, exp.Subquery):
            if alias is None:
                raise AdqlError("a subquery in FROM needs an alias")
            if not isinstance(node.this, exp.Query):
                raise AdqlError("parenthesised joins are not supported; remove the parentheses")
            fields = self._renamed(alias, self.query(node.this, scope.parent, scope.ctes))
            source = Source((folded(alias.this),), alias=folded(alias.this), derived=fields)
        elif isinstance(node, exp.Table):
            if alias is not None and alias.args.get("columns"):
                raise AdqlError("column aliases are not supported on a table")
            source = self._table(node, scope)
            if alias is not None:
                alias.set("this", quoted(folded(alias.this)))
                source.alias = folded(alias.this)
                source.qualifier = (source.alias,)
        else:
            raise AdqlError("FROM accepts tables and subqueries only")
        scope.add(source)
        return source

    def _table(self, node: exp.Table, scope: Scope) -> Source:
        name = folded(node.this)
        if node.args.get("db") is None and name in scope.ctes:
            node.set("this", quoted(name))
            return Source((name,), derived=scope.ctes[name])
        table, (sql_schema, sql_name) = self._tables.find(node)
        node.set("this", quoted(sql_name))
        node.set("db", quoted(sql_schema))
        return Source((sql_schema, sql_name), table=table)

    def _join(self, join: exp.Join, scope: Scope) -> None:
        natural = join.args.get("method", "").upper() == "NATURAL"
        left = (
            {f.name: f for source in scope.sources for f in source.fields()}
            if natural or join.args.get("using")
            else {}
        )
        right = self._source(join.this, scope)
        if natural:
            # Over the published columns only: unpublished ones must not join rows.
            right_names = {f.name for f in right.fields()}
            common = [name for name in left if name in right_names]
            join.set("method", None)
            if common:
                join.set("using", [quoted(name) for name in common])
            else:
                join.set("kind", "CROSS")
        using = []
        for identifier in join.args.get("using") or []:
            name = folded(identifier)
            if name not in left or right.field(identifier) is None:
                raise AdqlError(f"USING column '{identifier.this}' is not in both tables")
            scope.merged[name] = left[name]
            using.append(quoted(left[name].sql_name))
        if using:
            join.set("using", using)
        if (on := join.args.get("on")) is not None:
            join.set("on", self._condition(on, scope))

    # -- SELECT list, GROUP BY, ORDER BY ---------------------------------------------------

    def _select_list(self, node: exp.Select, scope: Scope) -> list[Field]:
        # (SQL, field, the SQL name when it is a plain column reference)
        items: list[tuple[exp.Expr, Field, str | None]] = []
        for position, item in enumerate(node.expressions, 1):
            if isinstance(item, exp.Star) or (
                isinstance(item, exp.Column) and isinstance(item.this, exp.Star)
            ):
                items.extend(self._star(item, scope))
                continue
            alias = item.args.get("alias") if isinstance(item, exp.Alias) else None
            value = item.this if isinstance(item, exp.Alias) else item
            default = self._default_name(value, position)
            translated = self._expression(value, scope)
            meaning = self._meaning(translated)
            known = meaning.field if isinstance(value, exp.Column) else None
            name = folded(alias) if alias is not None else (known.name if known else default)
            items.append(
                (
                    translated,
                    Field(
                        name, name, known.source if known else None, meaning.kind,
                        meaning.integral,
                    ),
                    known.sql_name if known else None,
                )
            )  # fmt: skip
        fields, used = [], set()
        for _, item_field, _ in items:
            name, suffix = item_field.name, 1
            while name in used:
                suffix += 1
                name = f"{item_field.name}_{suffix}"
            used.add(name)
            fields.append(
                item_field
                if name == item_field.name == item_field.sql_name
                else Field(name, name, item_field.source, item_field.kind, item_field.integral)
            )
        node.set(
            "expressions",
            [
                # PostgreSQL names a column reference after the column already.
                value if sql_name == f.name else exp.Alias(this=value, alias=quoted(f.name))
                for (value, _, sql_name), f in zip(items, fields, strict=True)
            ],
        )
        return fields

    def _star(self, star: exp.Expr, scope: Scope) -> list[tuple[exp.Expr, Field, str]]:
        """``*`` or ``t.*`` as the published columns (never what the database has beyond)."""
        if isinstance(star, exp.Star):
            sources = scope.sources
        else:
            sources = scope.sources_named(star.args["table"], star.args.get("db"))
            if not sources:
                raise AdqlError(f"unknown table '{star.args['table'].this}'")
        items, merged_done = [], set()
        for source in sources:
            for item in source.fields():
                if item.name in scope.merged and isinstance(star, exp.Star):
                    if item.name in merged_done:
                        continue
                    merged_done.add(item.name)
                    column = reference(scope.merged[item.name].sql_name)
                else:
                    column = source.reference(item.sql_name)
                items.append((column, item, item.sql_name))
        return items

    @staticmethod
    def _default_name(value: exp.Expr, position: int) -> str:
        if isinstance(value, exp.Anonymous):
            return value.name.lower()
        if isinstance(value, exp.Func):
            return _ADQL_NAMES.get(type(value), value.key)
        return f"col{position}"

    def _grouping(self, item: exp.Expr, scope: Scope, names: set[str]) -> exp.Expr:
        if isinstance(item, exp.Literal):
            return item
        if isinstance(item, exp.Column) and item.args.get("table") is None:
            name = folded(item.this)
            try:
                return self._expression(item, scope)
            except AdqlError:
                if name not in names:
                    raise
                return reference(name)
        return self._expression(item, scope)

    def _ordering(self, item: exp.Expr, scope: Scope, fields: list[Field]) -> exp.Expr:
        output = self._output_reference(item, fields)
        return output if output is not None else self._expression(item, scope)

    @staticmethod
    def _output_reference(item: exp.Expr, fields: list[Field]) -> exp.Expr | None:
        """An ORDER BY item naming an output column (by name or position), as SQL."""
        if isinstance(item, exp.Literal) and item.is_int:
            if not 1 <= int(item.this) <= len(fields):
                raise AdqlError(f"ORDER BY {item.this}: there are {len(fields)} columns")
            return item
        if isinstance(item, exp.Column) and item.args.get("table") is None:
            name = folded(item.this)
            if any(f.name == name for f in fields):
                return reference(name)
        return None

    def _order_by_output(self, node: exp.Expr, fields: list[Field]) -> None:
        order = node.args.get("order")
        for ordered in order.expressions if order is not None else ():
            output = self._output_reference(ordered.this, fields)
            if output is None:
                raise AdqlError("ORDER BY of a set operation must name an output column")
            ordered.set("this", output)

    # -- expressions -----------------------------------------------------------------------

    def _meaning(self, node: exp.Expr) -> _Meaning:
        known = self._meanings.get(id(node))
        if known is not None and known.node is node:
            return known
        return _INTEGER if isinstance(node, exp.Literal) and node.is_int else _NOTHING

    def _remember(self, node: exp.Expr, **meaning) -> exp.Expr:
        self._meanings[id(node)] = _Meaning(node, **meaning)
        return node

    def _expression(self, node: exp.Expr, scope: Scope) -> exp.Expr:
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                raise AdqlError("'table.*' is allowed in the select list only")
            reference, found = scope.resolve(node)
            return self._remember(reference, kind=found.kind, integral=found.integral, field=found)
        if isinstance(node, (exp.Subquery, exp.Exists)):
            fields = self.query(node.this, scope, scope.ctes)
            if isinstance(node, exp.Subquery) and len(fields) != 1:
                raise AdqlError("a subquery used as a value must select one column")
            return node
        for key, value in list(node.args.items()):
            if isinstance(value, exp.Expr):
                translated = self._expression(value, scope)
                if translated is not value:
                    node.set(key, translated)
            elif isinstance(value, list) and value:
                node.set(
                    key,
                    [self._expression(v, scope) if isinstance(v, exp.Expr) else v for v in value],
                )
        return self._rewrite(node)

    def _condition(self, node: exp.Expr, scope: Scope) -> exp.Expr:
        return self._boolean(self._expression(node, scope))

    def _boolean(self, node: exp.Expr) -> exp.Expr:
        """A condition; a bare CONTAINS or INTERSECTS there means ``= 1``."""
        predicate = self._meaning(node).predicate
        return node if predicate is None else predicate

    def _logical(self, node: exp.Expr) -> exp.Expr:
        for key in ("this", "expression"):
            operand = node.args.get(key)
            if operand is not None and (boolean := self._boolean(operand)) is not operand:
                node.set(key, boolean)
        return node

    def _rewrite(self, node: exp.Expr) -> exp.Expr:
        rewrite = _REWRITES.get(type(node))
        return node if rewrite is None else rewrite(self, node)

    def _anonymous(self, node: exp.Anonymous) -> exp.Expr:
        return self._adql_function(node.name.upper(), list(node.expressions))

    def _contains(self, node: exp.Contains) -> exp.Expr:
        return self._predicate(
            geometry.contains(node.this, self._kind(node.this), node.expression,
                              self._kind(node.expression))
        )  # fmt: skip

    def _rounding(self, node: exp.Round | exp.Trunc) -> exp.Expr:
        if node.args.get("decimals") is None:
            return node
        # PostgreSQL rounds doubles to a number of decimals only as numeric.
        node.set("this", exp.cast(node.this, exp.DType.DECIMAL))
        return exp.cast(node, exp.DType.DOUBLE)

    def _text(self, node: exp.Literal) -> exp.Expr:
        """A string with a backslash as an E'' literal: the same value whatever the server's
        standard_conforming_strings, so a backslash can never end the string early."""
        if not node.is_string or "\\" not in node.this:
            return node
        escaped = node.this.replace("\\", "\\\\").replace("'", "''")
        return exp.Var(this=f"E'{escaped}'")

    def _arithmetic(self, node: exp.Expr) -> exp.Expr:
        if all(self._meaning(child).integral for child in node.iter_expressions()):
            return self._remember(node, integral=True)
        return node

    def _kind(self, node: exp.Expr) -> str | None:
        return self._meaning(node).kind

    def _predicate(self, boolean: exp.Expr) -> exp.Expr:
        """CONTAINS and INTERSECTS are 0/1 in ADQL; ``= 1`` and ``= 0`` unwrap the boolean."""
        value = exp.Case(
            ifs=[exp.If(this=boolean, true=exp.Literal.number(1))],
            default=exp.Literal.number(0),
        )
        return self._remember(value, predicate=boolean, integral=True)

    def _geometric_comparison(self, node: exp.Binary) -> exp.Expr:
        for function, other in ((node.this, node.expression), (node.expression, node.this)):
            predicate = self._meaning(function).predicate
            if predicate is not None and isinstance(other, exp.Literal) and not other.is_string:
                if other.this not in ("0", "1"):
                    break
                holds = (other.this == "1") == isinstance(node, exp.EQ)
                return predicate if holds else exp.Not(this=predicate)
        return node

    def _distance_comparison(self, node: exp.Binary) -> exp.Expr:
        if isinstance(node, (exp.LT, exp.LTE)):
            function, bound = node.this, node.expression
        else:
            function, bound = node.expression, node.this
        points = self._meaning(function).points
        if points is None or not isinstance(bound, exp.Literal) or bound.is_string:
            return node
        cone = geometry.within(*points, float(bound.this))
        return cone if cone is not None else node

    def _logarithm(self, node: exp.Log) -> exp.Expr:
        if node.args.get("expression") is None:  # ADQL's LOG is the natural logarithm
            return exp.Ln(this=node.this)
        base, value = node.this, node.expression
        if isinstance(base, exp.Literal) and base.this == "10":  # LOG10
            return geometry.call("log", value)
        return exp.Div(this=exp.Ln(this=value), expression=exp.Ln(this=base), typed=True)

    def _modulo(self, node: exp.Mod) -> exp.Expr:
        if self._meaning(node.this).integral and self._meaning(node.expression).integral:
            return self._remember(node, integral=True)
        # PostgreSQL has MOD for integers and numeric only.
        return exp.cast(
            geometry.call(
                "mod",
                exp.cast(node.this, exp.DType.DECIMAL),
                exp.cast(node.expression, exp.DType.DECIMAL),
            ),
            exp.DType.DOUBLE,
        )

    def _cast(self, node: exp.Cast) -> exp.Expr:
        target = node.args["to"]
        if target.this not in _CAST_TYPES:
            raise AdqlError(f"CAST to {target.sql()} is not supported")
        if target.this == exp.DType.CHAR and not target.expressions:
            target.set("this", exp.DType.VARCHAR)
        return self._remember(node, integral=target.this in _INTEGRAL_CASTS)

    def _adql_function(self, name: str, arguments: list[exp.Expr]) -> exp.Expr:
        kinds = [self._kind(argument) for argument in arguments]
        if name in ("POINT", "CIRCLE", "BOX", "POLYGON"):
            return self._shape(name, geometry.without_frame(name, arguments))
        if name == "REGION":
            text = arguments[0]
            if not (isinstance(text, exp.Literal) and text.is_string):
                raise AdqlError("REGION needs a string literal")
            shape, kind = geometry.region(text.this)
            return self._remember(shape, kind=kind)
        if name == "INTERSECTS":
            return self._predicate(geometry.intersects(arguments[0], kinds[0], arguments[1],
                                                       kinds[1]))  # fmt: skip
        if name == "DISTANCE":
            points = self._points(arguments, kinds)
            return self._remember(geometry.distance(*points), points=points)
        if name == "AREA":
            return geometry.area(arguments[0], kinds[0])
        if name == "CENTROID":
            return self._remember(geometry.centroid(arguments[0], kinds[0]), kind=POINT)
        if name in ("COORD1", "COORD2"):
            return geometry.coordinate(arguments[0], kinds[0], int(name[-1]))
        if name == "COORDSYS":
            return exp.Literal.string("ICRS")
        if name == "IN_UNIT":
            return self._in_unit(*arguments)
        if name == "BITWISE_NOT":
            return exp.BitwiseNot(this=geometry.grouped(arguments[0]))
        return _BITWISE[name](
            this=geometry.grouped(arguments[0]), expression=geometry.grouped(arguments[1])
        )

    def _points(self, arguments: list[exp.Expr], kinds: list[str | None]):
        if len(arguments) == 4:
            return geometry.point(*arguments[:2]), geometry.point(*arguments[2:])
        if len(arguments) != 2 or kinds != [POINT, POINT]:
            raise AdqlError("DISTANCE needs two points (or their four coordinates)")
        return arguments[0], arguments[1]

    def _shape(self, name: str, arguments: list[exp.Expr]) -> exp.Expr:
        kinds = [self._kind(argument) for argument in arguments]
        if name == "POINT" and len(arguments) == 2:
            return self._remember(geometry.point(*arguments), kind=POINT)
        if name == "CIRCLE" and len(arguments) == 3:
            center = geometry.point(*arguments[:2])
            return self._remember(geometry.circle(center, arguments[2]), kind=geometry.CIRCLE)
        if name == "CIRCLE" and len(arguments) == 2 and kinds[0] == POINT:
            return self._remember(geometry.circle(*arguments), kind=geometry.CIRCLE)
        if name == "BOX" and len(arguments) == 4:
            return self._remember(geometry.box(*arguments), kind=geometry.POLYGON)
        if name == "BOX" and len(arguments) == 3 and kinds[0] == POINT:
            center = arguments[0]
            ra, dec = (geometry.coordinate(center.copy(), POINT, which) for which in (1, 2))
            return self._remember(geometry.box(ra, dec, *arguments[1:]), kind=geometry.POLYGON)
        if name == "POLYGON" and len(arguments) >= 3 and all(k == POINT for k in kinds):
            return self._remember(geometry.polygon(arguments), kind=geometry.POLYGON)
        if name == "POLYGON" and len(arguments) >= 6 and len(arguments) % 2 == 0:
            vertices = [geometry.point(*arguments[i : i + 2]) for i in range(0, len(arguments), 2)]
            return self._remember(geometry.polygon(vertices), kind=geometry.POLYGON)
        raise AdqlError(f"wrong arguments for {name}")

    def _in_unit(self, value: exp.Expr, unit: exp.Expr) -> exp.Expr:
        if not (isinstance(unit, exp.Literal) and unit.is_string):
            raise AdqlError("IN_UNIT needs the unit as a string literal")
        known = self._meaning(value).field
        if known is None or known.source is None or not known.source.unit:
            raise AdqlError("IN_UNIT needs a column whose unit is published")
        factor = conversion_factor(known.source.unit, unit.this)
        return exp.Mul(this=geometry.grouped(value), expression=geometry.number(factor))


#: What happens to a node, by class, once its arguments are translated.
_REWRITES = {
    exp.Anonymous: Translator._anonymous,
    exp.Literal: Translator._text,
    exp.Contains: Translator._contains,
    exp.Log: Translator._logarithm,
    exp.Round: Translator._rounding,
    exp.Trunc: Translator._rounding,
    exp.Mod: Translator._modulo,
    exp.Cast: Translator._cast,
    exp.And: Translator._logical,
    exp.Or: Translator._logical,
    exp.Not: Translator._logical,
    exp.EQ: Translator._geometric_comparison,
    exp.NEQ: Translator._geometric_comparison,
    **{comparison: Translator._distance_comparison for comparison in _COMPARISONS},
    **{operation: Translator._arithmetic for operation in _INTEGRAL_OPERATIONS},
}
