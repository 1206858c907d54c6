"""PII masking for log lines."""

from transforms.masking import mask_digits, mask_email, mask_name, mask_pii


def test_email_keeps_first_letter_and_domain() -> None:
    assert mask_email("li.lei@example.com") == "l***@example.com"


def test_phone_and_id_keep_last_four() -> None:
    assert mask_digits("13812345678") == "*******5678"
    assert mask_digits("11010519491231002X") == "*" * 14 + "002X"


def test_names() -> None:
    assert mask_name("张三丰") == "张**"
    assert mask_name("Alice") == "A****"


def test_free_text() -> None:
    text = mask_pii("contact wang.wei@corp.cn or +86 138 1234 5678")
    assert "wang.wei" not in text and "1234 5678" not in text and "5678" in text
