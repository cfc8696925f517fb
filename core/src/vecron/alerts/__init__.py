"""Alerts: when a job keeps failing, recovers, is dead-lettered or loses runs, tell the
notifiers its rules name (:mod:`vecron.alerts.alerter`)."""
