"""The `carbonid` command line."""

import click


@click.group()
def main() -> None:
    """carbonid: federated identifier resolution for industrial carbon data."""
