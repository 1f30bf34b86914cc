"""tenderhall — electronic trading platform for public resource trading centres (公共资源交易中心)."""

__version__ = "0.1.0"
