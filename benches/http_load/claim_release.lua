-- Claim then release, stateless, as Claude Code sends them: each wrk thread is
-- one agent (impl_1, impl_2, ...) on its own path, the next call sent only
-- when the answer came. Give wrk one thread per connection (-tN -cN): a
-- thread's connections share its turn, so with fewer threads a connection may
-- release what another claimed, and the answers count as unexpected.
-- wrk -t8 -c8 -d5s --latency -s benches/http_load/claim_release.lua http://127.0.0.1:PORT
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("agent", #threads)
end

function init(args)
  local path = "/mcp/v2/claude/u__session__s__impl_" .. agent
  local file = "bench/c" .. agent .. "/file.rs"
  local meta = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
    .. '"io.modelcontextprotocol/clientInfo":{"name":"claude-code","version":"2.1.0"},'
    .. '"io.modelcontextprotocol/clientCapabilities":{}}'
  local function call(tool, arguments)
    local headers = {
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json, text/event-stream",
      ["Mcp-Method"] = "tools/call",
      ["Mcp-Name"] = tool,
      ["MCP-Protocol-Version"] = "2026-07-28",
    }
    local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"'
      .. tool .. '","arguments":' .. arguments .. ',' .. meta .. '}}'
    return wrk.format("POST", path, headers, body)
  end
  calls = {
    call("claim_file_lock", '{"file_paths":["' .. file .. '"],"duration_minutes":5}'),
    call("release_file_lock", '{"file_paths":["' .. file .. '"]}'),
  }
  current = 1
  unexpected = 0
end

function request()
  return calls[current]
end

function response(status, headers, body)
  current = current % #calls + 1
  if status ~= 200 or not string.find(body, '"success":true', 1, true) then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
  end
  io.write("unexpected answers: " .. total .. "\n")
end
