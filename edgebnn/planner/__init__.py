"""Memory planning: where every tensor lives, and how much SRAM that takes."""
from .arena import ALIGN, Plan, aligned, plan, plan_buffers, plan_from_buffers
from .lifetimes import Buffer, buffers, live_bytes, lower_bound

__all__ = ["ALIGN", "Buffer", "Plan", "aligned", "buffers", "live_bytes", "lower_bound", "plan", "plan_buffers",
           "plan_from_buffers"]
