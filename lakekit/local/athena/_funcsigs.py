"""Trino function names and the signatures the local type checker (:mod:`._typecheck`) enforces.

``TRINO_FUNCTIONS``: every function name Trino registers (from Trino's "List of functions and
operators", docs/src/main/sphinx/functions/list.md, plus the special forms its parser turns into
function calls). A call to a name outside it fails with ``Function 'x' not registered`` on
Athena, even when DuckDB happens to have a function of that name.

``FUNCTION_SIGS``: for common functions, the parameter kinds Trino accepts (see
:func:`._trtypes.coercible`) and the return type; keyed by sqlglot expression class name, or by the
lower-case name for functions sqlglot parses as ``Anonymous``. Functions not listed are typed as
unknown (never refused).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ._trtypes import BIGINT, BOOLEAN, DOUBLE, INTS, VARCHAR, T, coercible, common_super

__all__ = ["TRINO_FUNCTIONS", "FUNCTION_SIGS", "LOCAL_UNSUPPORTED", "NORMALIZE_FORM", "FuncSig", "ret_type"]

_LISTED = """
abs acos all_match any_match any_value approx_distinct approx_most_frequent approx_percentile approx_set arbitrary
array_agg array_distinct array_except array_first array_histogram array_intersect array_join array_last array_max
array_min array_position array_remove array_sort array_union arrays_overlap asin at_timezone atan atan2 avg
bar beta_cdf bing_tile bing_tile_at bing_tile_coordinates bing_tile_polygon bing_tile_quadkey bing_tile_zoom_level
bing_tiles_around bit_count bitwise_and bitwise_and_agg bitwise_left_shift bitwise_not bitwise_or bitwise_or_agg
bitwise_right_shift bitwise_right_shift_arithmetic bitwise_xor bool_and bool_or
cardinality cast cbrt ceil ceiling char2hexint checksum chr classify codepoint color combinations concat concat_ws
contains contains_sequence convex_hull_agg corr cos cosh cosine_distance cosine_similarity count count_if covar_pop
covar_samp crc32 cume_dist current_date current_groups current_time current_timestamp current_timezone current_user
date date_add date_diff date_format date_parse date_trunc day day_of_month day_of_week day_of_year degrees
dense_rank dow doy
e element_at empty_approx_set ends_with every exp extract
features filter first_value flatten floor format format_datetime format_number from_base from_base32 from_base64
from_base64url from_big_endian_32 from_big_endian_64 from_encoded_polyline from_geojson_geometry from_hex
from_ieee754_32 from_ieee754_64 from_iso8601_date from_iso8601_timestamp from_iso8601_timestamp_nanos from_unixtime
from_unixtime_nanos from_utf8
geometric_mean geometry_from_hadoop_shape geometry_invalid_reason geometry_nearest_points geometry_to_bing_tiles
geometry_union geometry_union_agg great_circle_distance greatest
hamming_distance hash_counts histogram hmac_md5 hmac_sha1 hmac_sha256 hmac_sha512 hour human_readable_seconds
index infinity intersection_cardinality inverse_beta_cdf inverse_normal_cdf is_finite is_infinite is_json_scalar
is_nan
jaccard_index json_array_contains json_array_get json_array_length json_extract json_extract_scalar json_format
json_parse json_size
kurtosis
lag last_day_of_month last_value lead learn_classifier learn_libsvm_classifier learn_libsvm_regressor
learn_regressor least length levenshtein_distance line_interpolate_point line_interpolate_points line_locate_point
listagg ln localtime localtimestamp log log10 log2 lower lpad ltrim luhn_check
make_set_digest map map_agg map_concat map_entries map_filter map_from_entries map_keys map_union map_values
map_zip_with max max_by md5 merge merge_set_digest millisecond min min_by minute mod month multimap_agg
multimap_from_entries murmur3
nan ngrams none_match normal_cdf normalize now nth_value ntile numeric_histogram
objectid objectid_timestamp
parse_datetime parse_duration parse_data_size percent_rank pi position pow power
qdigest_agg quarter
radians rand random rank reduce reduce_agg regexp_count regexp_extract regexp_extract_all regexp_like
regexp_position regexp_replace regexp_split regress regr_intercept regr_slope render repeat replace reverse rgb
round row_number rpad rtrim
second sequence sha1 sha256 sha512 shuffle sign simplify_geometry sin sinh skewness slice soundex
spatial_partitioning spatial_partitions split split_part split_to_map split_to_multimap spooky_hash_v2_32
spooky_hash_v2_64 sqrt starts_with stddev stddev_pop stddev_samp strpos substr substring sum
tan tanh tdigest_agg timestamp_objectid timezone_hour timezone_minute to_base to_base32 to_base64 to_base64url
to_big_endian_32 to_big_endian_64 to_char to_date to_encoded_polyline to_geojson_geometry to_geometry to_hex
to_ieee754_32 to_ieee754_64 to_iso8601 to_milliseconds to_spherical_geography to_timestamp to_unixtime to_utf8
transform transform_keys transform_values translate trim trim_array truncate try try_cast typeof
upper url_decode url_encode url_extract_fragment url_extract_host url_extract_parameter url_extract_path
url_extract_protocol url_extract_port url_extract_query uuid
value_at_quantile values_at_quantiles var_pop var_samp variance version
week week_of_year width_bucket wilson_interval_lower wilson_interval_upper with_timezone word_stem
xxhash64 year year_of_week yow zip zip_with
"""
# special forms Trino's parser turns into calls, and aggregate/window names the list spells elsewhere
_SPECIAL = """
if coalesce nullif row array grouping json_value json_query json_exists json_object json_array json_serialize
json current_catalog current_schema current_path localtime localtimestamp at_time_zone unnest exists
set_agg set_union bitwise_xor_agg
"""
TRINO_FUNCTIONS = frozenset((_LISTED + _SPECIAL).split()) | {
    "st_" + n for n in (
        "area asbinary asewkb asewkt astext boundary buffer centroid collect contains convexhull coorddim crosses "
        "difference dimension disjoint distance endpoint envelope envelopeaspts equals exteriorring force2d force3d "
        "geometries geometryfromtext geometryn geometrytype geomfrombinary geomfromewkt geomfromkml interiorringn "
        "interiorrings intersection intersects isclosed isempty isring issimple isvalid length linefromtext linemerge "
        "linestring makeline makepolygon minimumboundingcircle multi multipoint normalize numgeometries "
        "numinteriorring numpoints orientedenvelope overlaps point pointn pointonsurface points polygon polygonize "
        "relate reduceprecision setsrid srid startpoint symdifference touches transform union voronoipolygons within "
        "x xmax xmin y ymax ymin z").split()}


@dataclass(frozen=True)
class FuncSig:
    """``alternatives``: tuples of parameter kinds; ``keys``: the sqlglot args, in call order;
    ``ret``: a T, ``argN`` (the Nth argument's type), ``sum`` or ``avg``; ``expected``: Trino's
    signature list for the error message, with ``{n}`` for the function name."""

    name: str
    keys: tuple[str, ...]
    alternatives: tuple[tuple[str, ...], ...]
    ret: T | str
    expected: str

    def args(self, node: exp.Expression) -> list[exp.Expression]:
        out: list[exp.Expression] = []
        for k in self.keys:
            v = node.args.get(k)
            if isinstance(v, list):
                out.extend(v)
            elif v is not None:
                out.append(v)
        return out

    def accepts(self, types: list[T]) -> bool:
        return any(len(alt) == len(types) and all(coercible(t, k) for t, k in zip(types, alt, strict=True))
                   for alt in self.alternatives)

    def expected_text(self, name: str) -> str:
        return self.expected.replace("{n}", name)


def ret_type(sig: FuncSig, types: list[T]) -> T | None:
    """The call's return type (None when the checker does not model it)."""
    r = sig.ret
    if isinstance(r, T):
        return r
    if r == "rand":
        return _rand_ret(types)
    if not types:
        return None
    if r.startswith("arg"):
        i = int(r[3:])
        return types[i] if i < len(types) else None
    t = types[0]
    if r == "minmax":  # min(x) is x's type; min(x, n) an array
        return t if len(types) == 1 else None
    if r == "sum":
        if t.name in INTS:
            return BIGINT
        if t.name == "decimal":
            return T("decimal", (38, t.args[1]))
        return t
    if r == "avg":
        return DOUBLE if t.name in INTS else t
    return None


def _rand_ret(types: list[T]) -> T:
    if not types:
        return DOUBLE
    return types[0] if len(types) == 1 else (common_super(types[0], types[1]) or types[1])


_NUM_EXPECTED = ("{n}(bigint), {n}(decimal(p,s)), {n}(double), {n}(integer), {n}(real), {n}(smallint), {n}(tinyint)")
_TEMPORAL_PART = ("{n}(date), {n}(interval day to second), {n}(interval year to month), {n}(time(p)), "
                  "{n}(time(p) with time zone), {n}(timestamp(p)), {n}(timestamp(p) with time zone)")
_AGG_EXPECTED = ("{n}(bigint), {n}(decimal(p,s)), {n}(double), {n}(interval day to second), "
                 "{n}(interval year to month), {n}(real)")


def _sig(name: str, keys: str, alts: str, ret: T | str, expected: str) -> FuncSig:
    return FuncSig(name, tuple(keys.split()), tuple(tuple(a.split(",")) for a in alts.split()), ret, expected)


_TEMPORAL = "temporal interval"
FUNCTION_SIGS: dict[str, FuncSig] = {
    "Length": _sig("length", "this", "varchar varbinary", BIGINT,
                   "length(char(x)), length(varbinary), length(varchar(x))"),
    "Substring": _sig("substr", "this start length",
                      "varchar,integer varchar,integer,integer varbinary,integer varbinary,integer,integer", "arg0",
                      "{n}(char(x), bigint), {n}(char(x), bigint, bigint), {n}(varbinary, bigint), "
                      "{n}(varbinary, bigint, bigint), {n}(varchar(x), bigint), {n}(varchar(x), bigint, bigint)"),
    "Lower": _sig("lower", "this", "varchar", "arg0", "lower(char(x)), lower(varchar(x))"),
    "Upper": _sig("upper", "this", "varchar", "arg0", "upper(char(x)), upper(varchar(x))"),
    "TimestampTrunc": _sig("date_trunc", "unit this", "varchar,temporal varchar,time", "arg1",
                           "date_trunc(varchar(x), date), date_trunc(varchar(x), time(p)), "
                           "date_trunc(varchar(x), time(p) with time zone), date_trunc(varchar(x), timestamp(p)), "
                           "date_trunc(varchar(x), timestamp(p) with time zone)"),
    "Sum": _sig("sum", "this", "numeric interval", "sum", _AGG_EXPECTED),
    "Avg": _sig("avg", "this", "numeric interval", "avg", _AGG_EXPECTED),
    "DateAdd": _sig("date_add", "unit expression this", "varchar,integer,temporal varchar,integer,time", "arg2",
                    "date_add(varchar(x), bigint, date), date_add(varchar(x), bigint, time(p)), "
                    "date_add(varchar(x), bigint, time(p) with time zone), date_add(varchar(x), bigint, timestamp(p)), "
                    "date_add(varchar(x), bigint, timestamp(p) with time zone)"),
    "DateDiff": _sig("date_diff", "unit expression this", "varchar,temporal,temporal varchar,time,time", BIGINT,
                     "date_diff(varchar(x), date, date), date_diff(varchar(x), time(p), time(p)), "
                     "date_diff(varchar(x), time(p) with time zone, time(p) with time zone), "
                     "date_diff(varchar(x), timestamp(p), timestamp(p)), "
                     "date_diff(varchar(x), timestamp(p) with time zone, timestamp(p) with time zone)"),
    "TimeToStr": _sig("date_format", "this format", "timestamp,varchar", VARCHAR,
                      "date_format(timestamp(p), varchar(x)), date_format(timestamp(p) with time zone, varchar(x))"),
    "StrToTime": _sig("date_parse", "this format", "varchar,varchar", T("timestamp", (3,)),
                      "date_parse(varchar(x), varchar(y))"),
    "format_datetime": _sig("format_datetime", "expressions", "timestamp,varchar", VARCHAR,
                            "format_datetime(timestamp(p), varchar(x)), "
                            "format_datetime(timestamp(p) with time zone, varchar(x))"),
    "ParseDatetime": _sig("parse_datetime", "this format", "varchar,varchar", T("timestamptz", (3,)),
                          "parse_datetime(varchar(x), varchar(y))"),
    "StrPosition": _sig("strpos", "this substr", "varchar,varchar", BIGINT,
                        "strpos(varchar(x), varchar(y)), strpos(varchar(x), varchar(y), bigint)"),
    "RegexpLike": _sig("regexp_like", "this expression", "varchar,varchar", BOOLEAN,
                       "regexp_like(varchar(x), JoniRegExp)"),
    "Abs": _sig("abs", "this", "numeric", "arg0", _NUM_EXPECTED),
    "Floor": _sig("floor", "this", "numeric", "arg0", _NUM_EXPECTED),
    "Ceil": _sig("ceil", "this", "numeric", "arg0", _NUM_EXPECTED),
    "Round": _sig("round", "this decimals", "numeric numeric,integer", "arg0",
                  "{n}(bigint), {n}(bigint, integer), {n}(decimal(p,s)), {n}(decimal(p,s), integer), {n}(double), "
                  "{n}(double, integer), {n}(integer), {n}(integer, integer), {n}(real), {n}(real, integer), "
                  "{n}(smallint), {n}(smallint, integer), {n}(tinyint), {n}(tinyint, integer)"),
    "CountIf": _sig("count_if", "this", "boolean", BIGINT, "count_if(boolean)"),
}
FUNCTION_SIGS["Count"] = FuncSig("count", (), ((),), BIGINT, "")
FUNCTION_SIGS["ApproxDistinct"] = FuncSig("approx_distinct", (), ((),), BIGINT, "")
for _cls, _name in (("Year", "year"), ("Month", "month"), ("Day", "day"), ("Quarter", "quarter"),
                    ("DayOfWeek", "day_of_week"), ("DayOfYear", "day_of_year"), ("WeekOfYear", "week"),
                    ("DayOfMonth", "day_of_month"), ("Hour", "hour"), ("Minute", "minute"), ("Second", "second")):
    FUNCTION_SIGS[_cls] = _sig(_name, "this", _TEMPORAL + " time", BIGINT, _TEMPORAL_PART)
for _cls in ("Min", "Max"):
    FUNCTION_SIGS[_cls] = FuncSig(_cls.lower(), ("this", "expressions"), (("any",), ("any", "integer")), "minmax", "")

_DOUBLE_EXPECTED = "{n}(double)"
for _key, _name in (("IsNan", "is_nan"), ("is_finite", "is_finite"), ("is_infinite", "is_infinite")):
    FUNCTION_SIGS[_key] = _sig(_name, "this expressions", "numeric", BOOLEAN, _DOUBLE_EXPECTED)
for _key in ("nan", "infinity"):
    FUNCTION_SIGS[_key] = FuncSig(_key, (), ((),), DOUBLE, "{n}()")
FUNCTION_SIGS["Rand"] = FuncSig(
    "random", ("this", "lower"), ((), ("integer",), ("integer", "integer")), "rand",
    "{n}(), {n}(bigint), {n}(bigint, bigint), {n}(integer), {n}(integer, integer), {n}(smallint), "
    "{n}(smallint, smallint), {n}(tinyint), {n}(tinyint, tinyint)")
FUNCTION_SIGS["CurrentTimestamp"] = FuncSig("current_timestamp", (), ((),), T("timestamptz", (3,)), "")
FUNCTION_SIGS["CurrentDate"] = FuncSig("current_date", (), ((),), T("date"), "")

_NOT_LOCAL = ("Function '{n}' is not available in the local Athena engine (Athena runs it); "
              "see docs/trino-functions.md, or run this query on AWS")
# Functions Trino (and Athena engine v3) registers that the local engine refuses rather than answer
# differently from Trino (DuckDB has no such function, or one of the same name with other semantics).
# The survey in docs/trino-functions.md lists each; tests/athena/test_trino_functions.py asserts the refusal.
_UNSUPPORTED_NAMES = """
approx_most_frequent approx_set array_first array_histogram array_last at_timezone bar beta_cdf bing_tile
bing_tile_at bing_tile_coordinates bing_tile_polygon bing_tile_quadkey bing_tile_zoom_level bing_tiles_around
bitwise_left_shift bitwise_right_shift bitwise_right_shift_arithmetic char2hexint checksum classify color
combinations contains_sequence convex_hull_agg cosine_similarity crc32 current_groups current_timezone
empty_approx_set features format format_number from_base from_base32 from_base64url from_big_endian_32
from_big_endian_64 from_encoded_polyline from_geojson_geometry from_ieee754_32 from_ieee754_64
from_iso8601_timestamp_nanos from_unixtime_nanos geometry_from_hadoop_shape geometry_invalid_reason
geometry_nearest_points geometry_to_bing_tiles geometry_union geometry_union_agg great_circle_distance
hamming_distance hash_counts hmac_md5 hmac_sha1 hmac_sha256 hmac_sha512 human_readable_seconds index
intersection_cardinality inverse_beta_cdf inverse_normal_cdf is_json_scalar jaccard_index json json_array
json_array_contains json_array_get json_exists json_serialize json_size learn_classifier
learn_libsvm_classifier learn_libsvm_regressor learn_regressor line_interpolate_point line_interpolate_points
line_locate_point luhn_check make_set_digest map_entries map_filter map_union map_zip_with merge
merge_set_digest multimap_from_entries murmur3 ngrams normal_cdf numeric_histogram objectid objectid_timestamp
parse_data_size parse_duration qdigest_agg reduce_agg regexp_position regress render repeat rgb sha512 shuffle
simplify_geometry soundex spatial_partitioning spatial_partitions split_to_map split_to_multimap
spooky_hash_v2_32 spooky_hash_v2_64 st_area st_asbinary st_asewkb st_asewkt st_astext st_boundary st_buffer
st_centroid st_collect st_contains st_convexhull st_coorddim st_crosses st_difference st_dimension st_disjoint
st_distance st_endpoint st_envelope st_envelopeaspts st_equals st_exteriorring st_force2d st_force3d
st_geometries st_geometryfromtext st_geometryn st_geometrytype st_geomfrombinary st_geomfromewkt
st_geomfromkml st_interiorringn st_interiorrings st_intersection st_intersects st_isclosed st_isempty
st_isring st_issimple st_isvalid st_length st_linefromtext st_linemerge st_linestring st_makeline
st_makepolygon st_minimumboundingcircle st_multi st_multipoint st_normalize st_numgeometries
st_numinteriorring st_numpoints st_orientedenvelope st_overlaps st_point st_pointn st_pointonsurface st_points
st_polygon st_polygonize st_reduceprecision st_relate st_setsrid st_srid st_startpoint st_symdifference
st_touches st_transform st_union st_voronoipolygons st_within st_x st_xmax st_xmin st_y st_ymax st_ymin st_z
tdigest_agg timestamp_objectid to_base to_base32 to_base64url to_big_endian_32 to_big_endian_64 to_date
to_encoded_polyline to_geojson_geometry to_geometry to_ieee754_32 to_ieee754_64 to_iso8601 to_milliseconds
to_spherical_geography to_timestamp transform_keys transform_values trim_array value_at_quantile
values_at_quantiles version width_bucket wilson_interval_lower wilson_interval_upper with_timezone word_stem
xxhash64 yow
"""
LOCAL_UNSUPPORTED: dict[str, str] = {n: _NOT_LOCAL for n in _UNSUPPORTED_NAMES.split()}
# normalize(x, form): DuckDB has only NFC (nfc_normalize)
NORMALIZE_FORM = ("normalize(x, {form}) is not available in the local Athena engine (Athena runs it; only NFC is "
                  "local); see docs/trino-functions.md, or run this query on AWS")
