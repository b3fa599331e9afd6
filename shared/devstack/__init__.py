"""Local runtime stack: PostgreSQL, Kafka, a mail catcher and the services, on loopback.

Used by `make run` (shared.devstack.run) and by test sessions
(shared.devstack.pytest_plugin); nothing here is deployed. Import from the modules:
stack (LocalStack, SERVICES), postgres, kafka, mailcatcher, processes, ports.
"""
