"""`tedge-container-plugin monitor`: live container status, alarms, metrics (docs/monitor.md).

- `state`: events and inspect data → services (pure);
- `crashloop`: restart counts → the crash-loop alarm (pure);
- `watch`: the engine's event stream, in a thread;
- `link`: the long-lived MQTT connection (LWT, republish on reconnect);
- `metrics`: resource_usage measurements;
- `service`: the loop that ties them together;
- `command`: the command line (`run`).
"""
