"""`tedge-container-plugin monitor`: live container status, alarms, metrics (docs/monitor.md).

- `state`: events and inspect data → services (pure);
- `crashloop`: restart counts → the crash-loop alarm (pure);
- `budget`: messages per service, so a crash loop cannot flood the uplink (pure);
- `announce`: what is published about services, through the budget;
- `sync`: the picture kept in sync with the engine, one container at a time;
- `vanished`: services that vanish in numbers keep their cloud objects;
- `cloud`: deleting removed services in Cumulocity (`names_file`: its list on disk);
- `watch`: the engine's event stream, in a thread;
- `link`: the long-lived MQTT connection (LWT, republish on reconnect);
- `metrics`: resource_usage measurements;
- `service`: the loop that ties them together;
- `command`: the command line (`run`).
"""
