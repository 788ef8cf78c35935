"""Competency frameworks: importing and looking them up, their levels as OB 3.0 Achievements, and level badges."""
