"""Shipped reference tables (JSON) and the script that rebuilds the GB/T 2260 one."""
