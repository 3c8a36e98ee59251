"""lakekit"""
