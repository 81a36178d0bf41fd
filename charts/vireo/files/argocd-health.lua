-- Argo CD health check for vireo.dev/VirtualMachine. Paste it into the argocd-cm ConfigMap under
-- resource.customizations.health.vireo.dev_VirtualMachine (docs/gitops.md). It reads the conditions the
-- operator writes in the same order kstatus (Flux, Helm 4 --wait) does, so both tools agree:
--   Healthy     = kstatus Current:    Ready=True (running with a ready guest, halted, stopped, paused, done)
--   Progressing = kstatus InProgress: status not written yet or stale, Reconciling=True, or Ready=False
--   Degraded    = kstatus Failed:     Stalled=True (invalid spec, missing claim, crash loop, failed run,
--                                     a node that stopped answering)
local hs = { status = "Progressing", message = "waiting for the Vireo operator to report status" }

local function condition(status, kind)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function describe(c)
  local text = c.reason or ""
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.message = "the VM is being deleted"
  return hs
end
local status = obj.status
if status == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration ~= generation then
  hs.message = "waiting for the operator to observe generation " .. generation
  return hs
end

local reconciling = condition(status, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling)
  return hs
end
local stalled = condition(status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end
local ready = condition(status, "Ready")
if ready == nil then
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = (status.printableStatus or "Ready") .. ": " .. (ready.message or "")
  return hs
end
hs.message = describe(ready)
return hs
