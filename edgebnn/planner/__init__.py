"""Memory planning: where every tensor lives, and how much SRAM that takes."""
from .arena import Plan, plan

__all__ = ["Plan", "plan"]
