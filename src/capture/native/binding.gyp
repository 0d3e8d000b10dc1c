{
  "targets": [
    {
      "target_name": "pcap_batch",
      "sources": ["pcap_batch.c"],
      "libraries": ["-lpcap"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
