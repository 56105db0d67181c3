"""A WebSocket client that really stops reading (for the slow-reader test).

Usage: stalled-ws-client.py HOST PORT PATH
It shrinks its receive buffer (SO_RCVBUF before connect, so the TCP window
stays small), does the opening handshake by hand, prints "upgraded" and then
reads NOTHING until a line arrives on stdin. Then it drains the socket (up to
a few seconds) and prints one JSON line: the text frames it got and the close
frame's code (null when the server never closed).
"""
import base64, json, os, socket, struct, sys

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, port))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = s.recv(1)  # byte by byte: nothing past the response head is consumed
    if not chunk:
        print(json.dumps({"error": "closed during the handshake"}), flush=True)
        sys.exit(1)
    buf += chunk
status = buf.split(b"\r\n", 1)[0].decode()
print("upgraded" if " 101 " in status else status, flush=True)
sys.stdin.readline()  # stalled until told to drain

s.settimeout(5)
data = b""
try:
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    pass
frames, close_code, i = 0, None, 0
while i + 2 <= len(data):
    op, ln = data[i] & 0x0F, data[i + 1] & 0x7F
    j = i + 2
    if ln == 126:
        ln, j = struct.unpack(">H", data[j:j + 2])[0], j + 2
    elif ln == 127:
        ln, j = struct.unpack(">Q", data[j:j + 8])[0], j + 8
    if j + ln > len(data):
        break
    if op == 1:
        frames += 1
    elif op == 8 and ln >= 2:
        close_code = struct.unpack(">H", data[j:j + 2])[0]
    i = j + ln
print(json.dumps({"frames": frames, "bytes": len(data), "close": close_code}), flush=True)
