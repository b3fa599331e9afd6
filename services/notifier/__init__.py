"""The notifier service: refusal and case e-mails to the diffusion teams and
account e-mails to responsables, queued in PostgreSQL and sent over SMTP
until delivered or parked."""
