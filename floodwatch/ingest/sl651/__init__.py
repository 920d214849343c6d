"""SL 651-2014 (水文监测数据通信规约) telemetry: frames, bodies, station mapping, the
TCP receiver and the RTU simulator. See docs/sl651.md."""
