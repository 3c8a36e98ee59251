"""``awsglue.gluetypes``: the DynamicFrame type system (Glue 5.0's Python classes), plus the local bridge to Spark.

Type names are Glue's (``int``, ``long``, ``string``, ``choice``, ...); ``mergeDataTypes`` merges two
types the way Glue computes a DynamicFrame schema: null merges away, equal structs merge field by
field, different types become a ``ChoiceType``.
"""
from __future__ import annotations

import json
from typing import Any

__all__ = [
    "ArrayType", "BinaryType", "BooleanType", "ByteType", "ChoiceType", "DataType", "DateType",
    "DecimalType", "DoubleType", "Field", "FloatType", "IntegerType", "LongType", "MapType",
    "NullType", "ShortType", "StringType", "StructType", "TimestampType", "UnknownType",
    "mergeDataTypes", "schema_tree_string",
]


class DataType:
    def __init__(self, properties: dict | None = None) -> None:
        self.properties = dict(properties or {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.__class__) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(str(self.__class__))

    @classmethod
    def typeName(cls) -> str:  # noqa: N802
        return cls.__name__[:-4].lower()

    def jsonValue(self) -> dict:  # noqa: N802
        return {"dataType": self.typeName(), "properties": self.properties}

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.properties})"


class AtomicType(DataType):
    pass


class BinaryType(AtomicType):
    pass


class BooleanType(AtomicType):
    pass


class ByteType(AtomicType):
    pass


class DateType(AtomicType):
    pass


class DoubleType(AtomicType):
    pass


class FloatType(AtomicType):
    pass


class IntegerType(AtomicType):
    @classmethod
    def typeName(cls) -> str:  # noqa: N802
        return "int"


class LongType(AtomicType):
    pass


class NullType(AtomicType):
    pass


class ShortType(AtomicType):
    pass


class StringType(AtomicType):
    pass


class TimestampType(AtomicType):
    pass


class UnknownType(AtomicType):
    pass


class DecimalType(AtomicType):
    def __init__(self, precision: int = 10, scale: int = 2, properties: dict | None = None) -> None:
        super().__init__(properties)
        self.precision = precision
        self.scale = scale

    def __repr__(self) -> str:
        return f"DecimalType({self.precision}, {self.scale}, {self.properties})"

    def jsonValue(self) -> dict:  # noqa: N802
        return {**super().jsonValue(), "precision": self.precision, "scale": self.scale}


class ArrayType(DataType):
    def __init__(self, elementType: DataType | None = None, properties: dict | None = None) -> None:  # noqa: N803
        super().__init__(properties)
        self.elementType = elementType if elementType is not None else UnknownType()

    def __repr__(self) -> str:
        return f"ArrayType({self.elementType}, {self.properties})"

    def jsonValue(self) -> dict:  # noqa: N802
        return {**super().jsonValue(), "elementType": self.elementType.jsonValue()}


class MapType(DataType):
    def __init__(self, valueType: DataType | None = None, properties: dict | None = None) -> None:  # noqa: N803
        super().__init__(properties)
        self.valueType = valueType if valueType is not None else UnknownType()

    def __repr__(self) -> str:
        return f"MapType({self.valueType}, {self.properties})"

    def jsonValue(self) -> dict:  # noqa: N802
        return {**super().jsonValue(), "valueType": self.valueType.jsonValue()}


class ChoiceType(DataType):
    """A field whose values have more than one type across records; one member per type name."""

    def __init__(self, choices: list[DataType] | None = None, properties: dict | None = None) -> None:
        super().__init__(properties)
        self.choices: dict[str, DataType] = {}
        for choice in choices or []:
            self.add(choice)

    def add(self, new_choice: DataType) -> None:
        if new_choice.typeName() in self.choices:
            raise ValueError("Attempting to insert duplicate choice", new_choice)
        self.choices[new_choice.typeName()] = new_choice

    def sorted_choices(self) -> list[DataType]:
        return [self.choices[k] for k in sorted(self.choices)]

    def __repr__(self) -> str:
        return f"ChoiceType([{','.join(str(c) for c in self.sorted_choices())}], {self.properties})"

    def jsonValue(self) -> dict:  # noqa: N802
        return {**super().jsonValue(), "choices": [c.jsonValue() for c in self.sorted_choices()]}


class Field:
    def __init__(self, name: str, dataType: DataType, properties: dict | None = None) -> None:  # noqa: N803
        if not isinstance(dataType, DataType):
            raise TypeError(f"dataType should be DataType. Got {dataType.__class__}")
        self.name = name
        self.dataType = dataType
        self.properties = dict(properties or {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Field) and self.name == other.name and self.dataType == other.dataType

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"Field({self.name}, {self.dataType}, {self.properties})"

    def jsonValue(self) -> dict:  # noqa: N802
        return {"name": self.name, "container": self.dataType.jsonValue(), "properties": self.properties}


class StructType(DataType):
    def __init__(self, fields: list[Field] | None = None, properties: dict | None = None) -> None:
        super().__init__(properties)
        self.fields = list(fields or [])
        self.field_map = {f.name: f for f in self.fields}

    def __iter__(self):
        return iter(self.fields)

    def __repr__(self) -> str:
        return f"StructType([{','.join(str(f) for f in self.fields)}], {self.properties})"

    def add(self, field: Field) -> None:
        self.fields.append(field)
        self.field_map[field.name] = field

    def hasField(self, field: str | Field) -> bool:  # noqa: N802
        return (field.name if isinstance(field, Field) else field) in self.field_map

    def getField(self, field: str | Field) -> Field:  # noqa: N802
        return self.field_map[field.name if isinstance(field, Field) else field]

    def jsonValue(self) -> dict:  # noqa: N802
        return {**super().jsonValue(), "fields": [f.jsonValue() for f in self.fields]}


def _members(t: DataType) -> dict[str, DataType]:
    return dict(t.choices) if isinstance(t, ChoiceType) else {t.typeName(): t}


def mergeDataTypes(s1: DataType, s2: DataType) -> DataType:  # noqa: N802
    """Glue's merge: null/unknown merge away, same kinds merge, different kinds make a choice."""
    if isinstance(s1, (UnknownType, NullType)):
        return s2
    if isinstance(s2, (UnknownType, NullType)):
        return s1
    if isinstance(s1, ChoiceType) or isinstance(s2, ChoiceType) or type(s1) is not type(s2):
        merged = _members(s1)
        for name, t in _members(s2).items():
            merged[name] = mergeDataTypes(merged[name], t) if name in merged else t
        return ChoiceType(list(merged.values()), s1.properties)
    if isinstance(s1, StructType):
        fields = [Field(f.name, mergeDataTypes(f.dataType, s2.getField(f).dataType) if s2.hasField(f)
                        else f.dataType, f.properties) for f in s1]
        fields.extend(Field(f.name, f.dataType, f.properties) for f in s2 if not s1.hasField(f))
        return StructType(fields, s1.properties)
    if isinstance(s1, ArrayType):
        return ArrayType(mergeDataTypes(s1.elementType, s2.elementType))
    if isinstance(s1, MapType):
        return MapType(mergeDataTypes(s1.valueType, s2.valueType))
    return s1


# ----------------------------------------------------------------------------- printing
def _tree_lines(t: DataType, depth: int, out: list[str]) -> None:
    pad = "|    " * depth
    if isinstance(t, StructType):
        for f in t:
            out.append(f"{pad}|-- {f.name}: {f.dataType.typeName()}")
            _tree_lines(f.dataType, depth + 1, out)
    elif isinstance(t, ArrayType):
        out.append(f"{pad}|-- element: {t.elementType.typeName()}")
        _tree_lines(t.elementType, depth + 1, out)
    elif isinstance(t, MapType):
        out.append(f"{pad}|-- keyType: string")
        out.append(f"{pad}|-- valueType: {t.valueType.typeName()}")
        _tree_lines(t.valueType, depth + 1, out)
    elif isinstance(t, ChoiceType):
        for c in t.sorted_choices():
            out.append(f"{pad}|-- {c.typeName()}")
            _tree_lines(c, depth + 1, out)


def schema_tree_string(schema: StructType) -> str:
    """Glue's ``printSchema`` text: ``root`` then ``|-- name: type`` lines, nested by ``|    ``."""
    out = ["root"]
    _tree_lines(schema, 0, out)
    return "\n".join(out) + "\n"


def to_json(t: DataType) -> str:
    return json.dumps(t.jsonValue())


# ----------------------------------------------------------------------------- Spark bridge
def from_spark(dt: Any, choice_paths: frozenset = frozenset(), prefix: tuple = ()) -> DataType:
    """Glue type of a Spark type; a struct at a path in ``choice_paths`` is a ChoiceType."""
    from pyspark.sql import types as T  # noqa: N812

    if isinstance(dt, T.StructType):
        if prefix in choice_paths:
            return ChoiceType([from_spark(f.dataType, choice_paths, prefix + ("\0",)) for f in dt.fields])
        return StructType([Field(f.name, from_spark(f.dataType, choice_paths, prefix + (f.name,)))
                           for f in dt.fields])
    if isinstance(dt, T.ArrayType):
        return ArrayType(from_spark(dt.elementType, choice_paths, prefix + ("[]",)))
    if isinstance(dt, T.MapType):
        return MapType(from_spark(dt.valueType, choice_paths, prefix + ("{}",)))
    if isinstance(dt, T.DecimalType):
        return DecimalType(dt.precision, dt.scale)
    simple = {T.IntegerType: IntegerType, T.LongType: LongType, T.DoubleType: DoubleType,
              T.FloatType: FloatType, T.StringType: StringType, T.BooleanType: BooleanType,
              T.ShortType: ShortType, T.ByteType: ByteType, T.DateType: DateType,
              T.TimestampType: TimestampType, T.TimestampNTZType: TimestampType,
              T.BinaryType: BinaryType, T.NullType: NullType}
    for spark_cls, glue_cls in simple.items():
        if isinstance(dt, spark_cls):
            return glue_cls()
    return UnknownType()


def to_spark(t: DataType) -> Any:
    """Spark type holding a Glue type; a choice becomes a struct with one field per type name."""
    from pyspark.sql import types as T  # noqa: N812

    if isinstance(t, StructType):
        return T.StructType([T.StructField(f.name, to_spark(f.dataType), True) for f in t])
    if isinstance(t, ChoiceType):
        return T.StructType([T.StructField(c.typeName(), to_spark(c), True) for c in t.sorted_choices()])
    if isinstance(t, ArrayType):
        return T.ArrayType(to_spark(t.elementType), True)
    if isinstance(t, MapType):
        return T.MapType(T.StringType(), to_spark(t.valueType), True)
    if isinstance(t, DecimalType):
        return T.DecimalType(t.precision, t.scale)
    simple = {IntegerType: T.IntegerType, LongType: T.LongType, DoubleType: T.DoubleType,
              FloatType: T.FloatType, StringType: T.StringType, BooleanType: T.BooleanType,
              ShortType: T.ShortType, ByteType: T.ByteType, DateType: T.DateType,
              TimestampType: T.TimestampType, BinaryType: T.BinaryType}
    for glue_cls, spark_cls in simple.items():
        if isinstance(t, glue_cls):
            return spark_cls()
    return T.NullType()


def choice_paths_of(t: DataType, prefix: tuple = ()) -> set[tuple]:
    """Paths (field names, ``[]`` for array elements) of every ChoiceType inside ``t``."""
    found: set[tuple] = set()
    if isinstance(t, ChoiceType):
        found.add(prefix)
        for c in t.sorted_choices():
            found |= choice_paths_of(c, prefix + ("\0",))
    elif isinstance(t, StructType):
        for f in t:
            found |= choice_paths_of(f.dataType, prefix + (f.name,))
    elif isinstance(t, ArrayType):
        found |= choice_paths_of(t.elementType, prefix + ("[]",))
    elif isinstance(t, MapType):
        found |= choice_paths_of(t.valueType, prefix + ("{}",))
    return found
