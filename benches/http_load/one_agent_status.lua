-- One agent's check_agent_status (news: false), stateless, as Claude Code sends it:
-- wrk -t8 -c8 -d5s --latency -s benches/http_load/one_agent_status.lua http://127.0.0.1:PORT
wrk.method = "POST"
wrk.path = "/mcp/v2/claude/u__session__s__impl_1"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "check_agent_status"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"check_agent_status","arguments":{"news":false},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"claude-code","version":"2.1.0"},"io.modelcontextprotocol/clientCapabilities":{}}}}'
