-- Nightly mix: a random fault every few seconds, drawn from the run's
-- seed, each healed before the next. Run it over many seeds:
--   splitbrain campaign --scenario 'harness/scenario/examples/nightly.lua' --seeds 100
-- The faults stop at 40s so that the default 60s test leaves the liveness
-- check 20s after the final heal.
wait_for_leader(10)
local faults = {
  {"partition", function()
    return partition(random.choice({"halves", "random-halves", "leader-minority", "leader-majority",
                                    "majorities-ring", "bridge", "minority-third"}))
  end},
  {"kill", function() return table.concat(kill("minority"), " ") end},
  {"pause", function() return table.concat(pause("one"), " ") end},
  {"skew", function() return table.concat(skew("leader", random.choice({0.5, 2})), " ") end},
  {"packet", function() packet{loss = 0.2, delay = 0.02, jitter = "10ms"} end},
  {"lose-unsynced", function() return table.concat(lose_unsynced("one"), " ") end},
}
while running() and now() < 40 do
  local f = random.choice(faults)
  log("nightly:", f[1], f[2]() or "")
  sleep(random.int(2, 5))
  heal_all()
  sleep(random.int(1, 3))
end
