// A bare Deno reverse proxy (Deno.serve + fetch, nothing else): the bench's floor for what the
// runtime alone costs per hop. Usage: deno run --allow-net=127.0.0.1 _bare_deno_proxy.ts <upstream>
const upstream = Deno.args[0];
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
  const response = await fetch(`${upstream}${new URL(request.url).pathname}`, {
    method: request.method,
    headers: { "content-type": "application/json" },
    body: await request.arrayBuffer(),
  });
  return new Response(response.body, {
    status: response.status,
    headers: { "content-type": response.headers.get("content-type") ?? "application/json" },
  });
});
console.log(`http://127.0.0.1:${server.addr.port}`);
