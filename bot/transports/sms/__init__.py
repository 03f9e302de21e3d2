"""SMS announcements through Alibaba Cloud SMS or Tencent Cloud SMS (``SMS_PROVIDER``), for residents without a
smartphone: the outbox channel (``channel``), each provider's client (``aliyun``, ``tencent``) on what both share
(``provider``), the approved template filled from the announcement (``template``) and the provider's pushes of
replies and receipts (``callbacks``)."""
