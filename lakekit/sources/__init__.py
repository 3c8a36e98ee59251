"""External data sources for the workshop (local weather API)."""
from __future__ import annotations

from lakekit.sources.weather_api import WeatherApi, load_weather_records

__all__ = ["WeatherApi", "load_weather_records"]
