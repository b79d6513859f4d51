"""Writes. Every function here is keyword-only and transactional where it writes."""
