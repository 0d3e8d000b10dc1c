/*
 * pcap_batch: live capture for notcreepy that hands packets to JavaScript in batches.
 *
 * The `cap` binding runs libpcap in immediate mode and calls into JavaScript once per packet:
 * measured, 14 us a packet before any analysis. Here libpcap runs in its default buffered mode
 * (TPACKET_V3 blocks, retired when full or after `timeout_ms`: a quiet network wakes us 20 times
 * a second, not once a packet), and each time the capture socket
 * is readable every available packet is copied into one caller-supplied Buffer as
 *   [ts_sec u32][ts_usec u32][caplen u32][len u32][caplen bytes, padded to 4]
 * and the JavaScript callback is called once per batch with (count, bytes). Kernel timestamps and
 * pcap_stats (packets dropped by the kernel) come with it.
 *
 * JavaScript API (src/capture/pcap-batch.ts):
 *   open(device, filter, snaplen, bufferBytes, timeoutMs, batch: Buffer, onBatch) -> handle
 *   linkType(handle) -> number (DLT)
 *   stats(handle) -> [received, dropped, ifdropped]
 *   close(handle)
 */
#include <node_api.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define RECORD_HEADER 16

typedef struct {
  pcap_t *pcap;
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_ref batch_ref;
  napi_async_context async_context;
  uint8_t *batch;
  size_t batch_size;
  size_t used;
  uint32_t count;
  int snaplen;
  int closed;
} Capture;

static napi_value throw_error(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  Capture *c = (Capture *)user;
  size_t caplen = h->caplen;
  size_t need = RECORD_HEADER + ((caplen + 3) & ~(size_t)3);
  if (c->used + need > c->batch_size) {
    /* The caller sized the batch for at least one packet of snaplen; stop and deliver. */
    pcap_breakloop(c->pcap);
    return;
  }
  uint32_t *hdr = (uint32_t *)(c->batch + c->used);
  hdr[0] = (uint32_t)h->ts.tv_sec;
  hdr[1] = (uint32_t)h->ts.tv_usec;
  hdr[2] = (uint32_t)caplen;
  hdr[3] = (uint32_t)h->len;
  memcpy(c->batch + c->used + RECORD_HEADER, bytes, caplen);
  c->used += need;
  c->count++;
  /* Leave room for one more full-size packet, else deliver what we have. */
  if (c->used + RECORD_HEADER + (size_t)c->snaplen + 4 > c->batch_size) pcap_breakloop(c->pcap);
}

static void deliver(Capture *c) {
  if (c->count == 0) return;
  napi_env env = c->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[2], result;
  napi_get_reference_value(env, c->callback, &cb);
  napi_get_global(env, &recv); /* MakeCallback needs an object receiver */
  napi_create_uint32(env, c->count, &argv[0]);
  napi_create_uint32(env, (uint32_t)c->used, &argv[1]);
  c->count = 0;
  c->used = 0;
  napi_make_callback(env, c->async_context, recv, cb, 2, argv, &result);
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  Capture *c = (Capture *)handle->data;
  if (c->closed || status < 0) return;
  /* Read until the socket is empty, one batch at a time: delivering between batches bounds
     how long JavaScript waits and keeps the Buffer's size the only memory used. */
  for (int rounds = 0; rounds < 64 && !c->closed; rounds++) {
    int n = pcap_dispatch(c->pcap, -1, on_packet, (u_char *)c);
    int full = c->count > 0 && c->used + RECORD_HEADER + (size_t)c->snaplen + 4 > c->batch_size;
    deliver(c);
    if (n <= 0 && !full) break;
  }
}

static void on_poll_closed(uv_handle_t *handle) {
  Capture *c = (Capture *)handle->data;
  pcap_close(c->pcap);
  free(c);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) return throw_error(env, "open(device, filter, snaplen, bufferBytes, timeoutMs, batch, onBatch)");
  char device[256], filter[4096];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], device, sizeof device, &len) != napi_ok) return throw_error(env, "device must be a string");
  if (napi_get_value_string_utf8(env, argv[1], filter, sizeof filter, &len) != napi_ok) return throw_error(env, "filter must be a string");
  int32_t snaplen, buffer_bytes, timeout_ms;
  napi_get_value_int32(env, argv[2], &snaplen);
  napi_get_value_int32(env, argv[3], &buffer_bytes);
  napi_get_value_int32(env, argv[4], &timeout_ms);
  void *batch;
  size_t batch_size;
  if (napi_get_buffer_info(env, argv[5], &batch, &batch_size) != napi_ok) return throw_error(env, "batch must be a Buffer");
  if (batch_size < (size_t)snaplen + RECORD_HEADER + 4) return throw_error(env, "batch Buffer smaller than one packet");

  char errbuf[PCAP_ERRBUF_SIZE] = "";
  pcap_t *p = pcap_create(device, errbuf);
  if (p == NULL) return throw_error(env, errbuf);
  if (pcap_set_snaplen(p, snaplen) != 0 || pcap_set_promisc(p, 1) != 0 || pcap_set_buffer_size(p, buffer_bytes) != 0 ||
      pcap_set_timeout(p, timeout_ms) != 0) {
    pcap_close(p);
    return throw_error(env, "cannot configure the capture");
  }
  int rc = pcap_activate(p);
  if (rc < 0) {
    char message[PCAP_ERRBUF_SIZE + 64];
    snprintf(message, sizeof message, "%s", rc == PCAP_ERROR_PERM_DENIED ? "Operation not permitted" : pcap_geterr(p));
    pcap_close(p);
    return throw_error(env, message);
  }
  if (filter[0] != '\0') {
    struct bpf_program prog;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
      char message[PCAP_ERRBUF_SIZE + 64];
      snprintf(message, sizeof message, "bad filter: %s", pcap_geterr(p));
      pcap_close(p);
      return throw_error(env, message);
    }
    rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
      pcap_close(p);
      return throw_error(env, "cannot set the filter");
    }
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    pcap_close(p);
    return throw_error(env, errbuf);
  }
  int fd = pcap_get_selectable_fd(p);
  if (fd < 0) {
    pcap_close(p);
    return throw_error(env, "no selectable file descriptor");
  }

  Capture *c = calloc(1, sizeof *c);
  c->pcap = p;
  c->env = env;
  c->batch = batch;
  c->batch_size = batch_size;
  c->snaplen = snaplen;
  napi_create_reference(env, argv[6], 1, &c->callback);
  napi_create_reference(env, argv[5], 1, &c->batch_ref); /* keeps the Buffer alive */
  napi_value resource_name;
  napi_create_string_utf8(env, "notcreepy:pcap-batch", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &c->async_context);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &c->poll, fd);
  c->poll.data = c;
  uv_poll_start(&c->poll, UV_READABLE, on_readable);

  napi_value handle;
  napi_create_external(env, c, NULL, NULL, &handle);
  return handle;
}

static Capture *capture_of(napi_env env, napi_value value) {
  void *data = NULL;
  napi_get_value_external(env, value, &data);
  return (Capture *)data;
}

static napi_value js_link_type(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Capture *c = capture_of(env, argv[0]);
  if (c == NULL || c->closed) return throw_error(env, "capture closed");
  napi_create_int32(env, pcap_datalink(c->pcap), &out);
  return out;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Capture *c = capture_of(env, argv[0]);
  napi_create_array_with_length(env, 3, &out);
  struct pcap_stat st;
  if (c == NULL || c->closed || pcap_stats(c->pcap, &st) != 0) return out;
  napi_create_double(env, st.ps_recv, &v);
  napi_set_element(env, out, 0, v);
  napi_create_double(env, st.ps_drop, &v);
  napi_set_element(env, out, 1, v);
  napi_create_double(env, st.ps_ifdrop, &v);
  napi_set_element(env, out, 2, v);
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  Capture *c = capture_of(env, argv[0]);
  if (c == NULL || c->closed) return NULL;
  c->closed = 1;
  uv_poll_stop(&c->poll);
  napi_delete_reference(env, c->callback);
  napi_delete_reference(env, c->batch_ref);
  napi_async_destroy(env, c->async_context);
  uv_close((uv_handle_t *)&c->poll, on_poll_closed);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"linkType", NULL, js_link_type, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
