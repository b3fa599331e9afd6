"""The notifier service: refusal e-mails to the diffusion teams, queued in
PostgreSQL and sent over SMTP until delivered."""
