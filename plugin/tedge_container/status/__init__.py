"""Status over MQTT, one voice for every software type and the monitor.

- `topics`: thin-edge topics and payloads;
- `health`: `up`/`down` from podman's inspect data;
- `settings`: where the broker is (tedge.toml, env, the plugin's own keys);
- `publisher`: an operation's report, one bounded MQTT session in one round trip;
- `mqtt`: TLS and login from the settings; the monitor's paho client (the only importer of paho-mqtt);
- `reporter`: what an sm-plugin operation did, published after it.

Nothing is imported here, so `list` pays for none of it.
"""
